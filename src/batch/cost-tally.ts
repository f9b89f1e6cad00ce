import { z } from 'zod';
import type { Provenance, VisionVerdict } from '../cases/provenance.ts';
import { PROMPT_TEMPLATE_VERSION } from '../prompts/templates.ts';
import type { GeneratedImage } from '../providers/types.ts';
import { actualCostUsd } from '../providers/usage-cost.ts';
import { roundTo, roundUsd } from '../util/money.ts';
import type { BatchMetrics } from './types.ts';

/** The vision judge's running tally in a progress file. */
export const judgeTallySchema = z.object({
  calls: z.number().int().nonnegative().default(0),
  costUsd: z.number().nonnegative().default(0),
  pass: z.number().int().nonnegative().default(0),
  fail: z.number().int().nonnegative().default(0),
  notJudged: z.number().int().nonnegative().default(0),
  repairs: z.number().int().nonnegative().default(0),
});
export type JudgeTally = z.infer<typeof judgeTallySchema>;

interface Tallied {
  actualCostUsd?: number | undefined;
  judge?: JudgeTally | undefined;
}

/** Adds a paid reply's actual cost (when it reported usage) to the batch's running total. */
export function tallyActual(progress: Tallied, image: GeneratedImage, mode: 'sync' | 'batch'): void {
  if (!image.usage) return;
  const usd = actualCostUsd(image.model, image.usage, mode);
  if (usd === undefined) return;
  progress.actualCostUsd = roundUsd((progress.actualCostUsd ?? 0) + usd, 7);
}

export function emptyJudgeTally(): JudgeTally {
  return { calls: 0, costUsd: 0, pass: 0, fail: 0, notJudged: 0, repairs: 0 };
}

/** Counts the final verdict of a kept image (skipped ones are not counted). */
export function tallyVerdict(progress: Tallied, verdict: VisionVerdict | undefined): void {
  if (!verdict || verdict.status === 'skipped') return;
  progress.judge ??= emptyJudgeTally();
  const t = progress.judge;
  if (verdict.status === 'pass') t.pass += 1;
  else if (verdict.status === 'fail') t.fail += 1;
  else t.notJudged += 1;
}

/** What a plan item was asked with, for the manifest's provenance. */
export function requestedProvenance(item: {
  aspectRatio: string;
  style?: { file: string; sha256: string } | undefined;
}): Omit<Provenance, 'usage' | 'actualCostUsd'> {
  return {
    promptTemplateVersion: PROMPT_TEMPLATE_VERSION,
    imageConfig: { aspectRatio: item.aspectRatio },
    references: item.style ? [{ role: 'style', file: item.style.file, sha256: item.style.sha256 }] : [],
  };
}

/** The metrics lineup adds to the seed's error report (README, "The seed: what lineup replaces"): actual cost and the judge's figures, when known. */
export function extraMetrics(progress: Tallied): Partial<BatchMetrics> {
  const out: Partial<BatchMetrics> = {};
  if (progress.actualCostUsd !== undefined) out.actualCostUsd = roundUsd(progress.actualCostUsd, 7);
  const j = progress.judge;
  if (j) {
    out.judgeCostUsd = roundUsd(j.costUsd, 7);
    out.judgeCalls = j.calls;
    out.judged = { pass: j.pass, fail: j.fail, notJudged: j.notJudged };
    if (j.pass + j.fail > 0) out.judgePassRate = roundTo(j.pass / (j.pass + j.fail), 3);
  }
  return out;
}

/** Counts one finished judge call and what it cost. */
export function tallyJudgeCall(progress: Tallied, usd: number): void {
  progress.judge ??= emptyJudgeTally();
  progress.judge.calls += 1;
  progress.judge.costUsd = roundUsd(progress.judge.costUsd + usd, 7);
}
