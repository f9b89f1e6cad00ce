import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-write.ts';
import type { BatchMetrics, FailureRecord } from './types.ts';

function errorReportFile(root: string, batchId: string): string {
  return join(root, 'reports', 'errors', `${batchId}.json`);
}

/** The error report (summary, failures, recommendations, metrics (README, "The seed: what lineup replaces")) plus the run's metrics and what the runner knows of how it ended. */
export interface ErrorReport {
  batchId: string;
  generatedAt: string;
  status: string;
  stopReason?: string;
  provider: string;
  model: string;
  mode: 'sync' | 'batch';
  summary: { total: number; successful: number; failed: number; pending: number };
  failures: FailureRecord[];
  recommendations: string[];
  metrics: BatchMetrics;
}

export interface ReportFacts {
  batchId: string;
  failures: FailureRecord[];
  metrics: BatchMetrics;
  stopReason?: string;
  /** What to do about the failure storm that stopped the batch (src/batch/breaker.ts). */
  breakerAdvice?: string;
  dailyQuotaHit: boolean;
  costCapHit: boolean;
  maxCost: number;
  resumeCommand: string;
}

/** Advice drawn only from what this run actually met, each line something the user can do. */
export function recommendations(facts: ReportFacts): string[] {
  const out: string[] = [];
  if (facts.breakerAdvice) out.push(facts.breakerAdvice);
  out.push(...accessAdvice(facts), ...requestAdvice(facts));
  const judged = facts.metrics.judged;
  if (judged?.fail) {
    out.push(
      `${judged.fail} image(s) were flagged by vision QA: the reviewer sees why in the pull request (✗ lines); regenerate with feedback if they agree.`,
    );
  }
  if (judged?.notJudged) {
    out.push(
      `${judged.notJudged} image(s) could not be judged (see vision.reason in the manifest): npx tsx scripts/validate-image-quality.ts --case-id <case> judges them again.`,
    );
  }
  if (facts.costCapHit) {
    out.push(
      `The cost cap of $${facts.maxCost.toFixed(2)} was reached: raise --max-cost or resume on another day.`,
    );
  }
  if (facts.metrics.pending > 0 || facts.failures.some((f) => f.recoverable)) {
    out.push(`Resume what is left with: ${facts.resumeCommand}`);
  }
  return out;
}

/** The key, billing, model and quotas: what a person must fix before a resume can help. */
function accessAdvice(facts: ReportFacts): string[] {
  const out: string[] = [];
  const byType = (t: string) => facts.failures.filter((f) => f.errorType === t);
  const auth = byType('auth');
  if (auth.length) {
    out.push(
      'The API key was refused (401/403): check the GEMINI_API_KEY secret and that the Generative Language API is enabled for its project, then resume.',
    );
  }
  if (byType('billing').length) {
    out.push('Billing refused the request (402): add prepaid credit or enable billing, then resume.');
  }
  if (byType('model_not_found').length) {
    out.push(
      'The image model is not available (404 NOT_FOUND: retired, or unknown to this key): set "model" in lineup.config.json or pass --model with a current image model (the README lists them), then resume with a new batch.',
    );
  }
  const noQuota = facts.failures.find((f) => f.reason === 'no_quota');
  if (noQuota) {
    out.push(
      'The project behind the key has no quota for this model (limit: 0): enable billing for it in Google AI Studio (image models have no free tier), or choose another model, then resume.',
    );
  }
  if (facts.dailyQuotaHit) {
    out.push(
      'The daily request quota is used up; it resets at midnight Pacific time. Resume then, or move nightly runs to --mode batch.',
    );
  }
  if (facts.metrics.rateLimitHits > 0 && !facts.dailyQuotaHit) {
    out.push(
      `${facts.metrics.rateLimitHits} request(s) hit the per-minute rate limit: set rateLimit.requestsPerMinute in lineup.config.json to your tier's limit (or raise timing.delayBetweenImages).`,
    );
  }
  return out;
}

/** Failures of single requests: blocked prompts, empty answers, timeouts, network and server errors. */
function requestAdvice(facts: ReportFacts): string[] {
  const out: string[] = [];
  const blocked = facts.failures.filter((f) => f.reason === 'prompt_blocked' || f.reason === 'image_blocked');
  for (const f of blocked) {
    out.push(
      `${f.caseId}/${f.suspectId ?? 'scene'} was blocked by the safety filter: soften its description in cases/${f.caseId}/case.json, then regenerate it with --force.`,
    );
  }
  const empty = facts.failures.filter((f) =>
    ['no_image', 'text_only', 'undecodable_image'].includes(f.reason),
  );
  if (empty.length) {
    out.push(
      `${empty.length} image(s) came back without a usable image: rerun them; if it repeats, make the prompt more concrete.`,
    );
  }
  if (facts.failures.some((f) => f.reason === 'quality')) {
    out.push(
      'Some images failed the quality checks every time: look at them with scripts/preview-images.ts.',
    );
  }
  if (facts.failures.some((f) => f.reason === 'timeout')) {
    out.push('Requests timed out: raise timing.requestTimeout, or resume later when the API is less busy.');
  }
  if (facts.failures.some((f) => f.errorType === 'network' && f.reason !== 'timeout')) {
    out.push('Network errors reached the API: check connectivity and proxies, then resume.');
  }
  if (facts.failures.some((f) => f.errorType === 'api_error')) {
    out.push('The API answered with server errors (5xx) after every retry: resume later.');
  }
  return out;
}

export async function writeErrorReport(root: string, report: ErrorReport): Promise<string> {
  const file = errorReportFile(root, report.batchId);
  await writeJsonAtomic(file, report);
  return file;
}
