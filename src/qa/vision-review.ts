import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCase } from '../cases/case-store.ts';
import { readManifest, updateManifest } from '../cases/manifest-store.ts';
import { imagesDir } from '../cases/paths.ts';
import type { VisionIssue, VisionVerdict } from '../cases/provenance.ts';
import type { Case } from '../cases/schema.ts';
import type { VisionPolicy } from '../config/qa.ts';
import type { Config } from '../config/schema.ts';
import { decide } from '../pacing/retry-policy.ts';
import type { GeneratedImage } from '../providers/types.ts';
import { actualCostUsd, addUsage, type TokenUsage } from '../providers/usage-cost.ts';
import { findStyleSheet, type SheetCache } from '../styles/style-sheet.ts';
import type { Clock } from '../util/clock.ts';
import { roundUsd } from '../util/money.ts';
import type { JudgeGate } from './gate.ts';
import type { JudgeClient, JudgeImage } from './judge-client.ts';
import { lineupRubric, type Rubric, rubricFor } from './rubric.ts';
import type { JudgeAnswer } from './verdict.ts';

/** The image being judged, as the runner knows it. */
export interface JudgedItem {
  caseId: string;
  imageId: string;
  prompt: string;
}

export interface ReviewContext {
  gate: JudgeGate;
  /** Generates the image again with the judge's notes added to its prompt; undefined when that failed or is not allowed. */
  regenerate?: ((notes: string) => Promise<GeneratedImage | undefined>) | undefined;
  log?: ((message: string) => void) | undefined;
}

export interface ReviewedImage {
  image: GeneratedImage;
  verdict: VisionVerdict;
}

/** What one (possibly retried) judge call came to. */
interface Judged {
  answer?: JudgeAnswer;
  /** Why there is no answer. */
  reason?: string;
  calls: number;
  costUsd: number;
  usage?: TokenUsage | undefined;
}

/** Rough size of one judge request, for the cost cap's reservation before the reply says. */
const ESTIMATE = { tokensPerImage: 1300, textTokens: 700, outputTokens: 300 };
/** Judge notes are cut so a repair prompt stays well within the prompt limit. */
const MAX_NOTES = 500;

export interface VisionReviewOptions {
  root: string;
  config: Config;
  client: JudgeClient;
  policy: Exclude<VisionPolicy, 'off'>;
  clock: Clock;
}

/**
 * The second pair of eyes: judges images against a rubric built from their case, and under the
 * `regenerate` policy redoes a failed image within the repair budget, keeping the best-scoring one.
 * Never throws for an API outcome and never fails generation: a judge that cannot answer leaves
 * the image "not judged" with the reason.
 */
export class VisionReview {
  readonly policy: Exclude<VisionPolicy, 'off'>;
  readonly model: string;
  private readonly cases = new Map<string, Promise<Case>>();
  private readonly styles = new Map<string, Promise<JudgeImage | undefined>>();
  /** Sheets by path: the cases of one art style share one sheet, read once. */
  private readonly sheets: SheetCache = new Map();
  private runRepairsLeft = 0;
  /** Set after a failure no retry will fix for the rest of the run (auth, billing, daily quota). */
  private disabled: string | undefined;

  constructor(private readonly o: VisionReviewOptions) {
    this.policy = o.policy;
    this.model = o.client.model;
  }

  /** The run's share of repairs: `repairShare` of its images, rounded up. */
  planRun(imageCount: number): void {
    this.runRepairsLeft = Math.ceil(imageCount * this.o.config.qa.repairShare - 1e-9);
  }

  describe(): string {
    const q = this.o.config.qa;
    return this.policy === 'regenerate'
      ? `vision QA with ${this.model}: regenerate (up to ${q.repairsPerImage} per image, ${this.runRepairsLeft} in this run)`
      : `vision QA with ${this.model}: flag`;
  }

  /** Judges a fresh image; under `regenerate`, repairs a failure within budget. */
  async review(item: JudgedItem, image: GeneratedImage, ctx: ReviewContext): Promise<ReviewedImage> {
    const { rubric, extra } = await this.rubric(item.caseId, item.imageId);
    let calls = 0;
    let costUsd = 0;
    let usage: TokenUsage | undefined;
    const judge = async (img: GeneratedImage) => {
      const j = await this.call(rubric, [img, ...extra], ctx.gate);
      calls += j.calls;
      costUsd += j.costUsd;
      usage = addUsage(usage, j.usage);
      return this.verdictOf(rubric, j);
    };
    let best: ReviewedImage = { image, verdict: await judge(image) };
    let repairs = 0;
    while (
      this.policy === 'regenerate' &&
      best.verdict.status === 'fail' &&
      ctx.regenerate &&
      repairs < this.o.config.qa.repairsPerImage &&
      this.runRepairsLeft > 0
    ) {
      repairs += 1;
      this.runRepairsLeft -= 1;
      ctx.log?.(
        `${item.imageId} failed vision QA (${summary(best.verdict)}); regenerating it with the judge's notes`,
      );
      const again = await ctx.regenerate(repairNotes(best.verdict.issues));
      if (!again) break;
      const verdict = await judge(again);
      if (rank(verdict) > rank(best.verdict)) best = { image: again, verdict };
    }
    const verdict: VisionVerdict = {
      ...best.verdict,
      calls,
      costUsd: roundUsd(costUsd, 7),
      ...(usage ? { usage } : {}),
      ...(repairs ? { repairs } : {}),
    };
    return { image: best.image, verdict };
  }

  /** Judges an image already on disk (validate-image-quality); never repairs. */
  async judgeFile(
    item: Omit<JudgedItem, 'prompt'>,
    image: JudgeImage,
    gate: JudgeGate,
  ): Promise<VisionVerdict> {
    const { rubric, extra } = await this.rubric(item.caseId, item.imageId);
    const j = await this.call(rubric, [image, ...extra], gate);
    return this.verdictOf(rubric, j);
  }

  /**
   * The one extra call per case: are the suspects clearly different people? Judged on the
   * portraits on disk, recorded as the manifest's `lineup`. Undefined when fewer than two real
   * (non-placeholder) portraits exist.
   */
  async lineup(caseId: string, gate: JudgeGate): Promise<VisionVerdict | undefined> {
    const data = await this.caseData(caseId);
    const manifest = await readManifest(this.o.root, caseId);
    const ids: string[] = [];
    const images: JudgeImage[] = [];
    for (const s of data.suspects) {
      const entry = manifest.images[s.id];
      if (!entry || entry.provider === 'placeholder') continue;
      const bytes = await readFile(join(imagesDir(this.o.root, caseId), entry.file)).catch(() => undefined);
      if (!bytes) continue;
      ids.push(s.id);
      images.push({ mimeType: entry.mimeType, bytes: new Uint8Array(bytes) });
    }
    if (ids.length < 2) return undefined;
    const rubric = lineupRubric(data, ids);
    const verdict = this.verdictOf(rubric, await this.call(rubric, images, gate));
    await updateManifest(this.o.root, caseId, (m) => {
      m.lineup = verdict;
    });
    return verdict;
  }

  /** The image's rubric, and the case's style sheet to send after the image when there is one. */
  private async rubric(caseId: string, imageId: string): Promise<{ rubric: Rubric; extra: JudgeImage[] }> {
    const data = await this.caseData(caseId);
    let style = this.styles.get(caseId);
    if (!style) {
      // A sheet that cannot be read was reported when the run was planned; the judge goes without.
      style = findStyleSheet(this.o.root, data, this.sheets).catch(() => undefined);
      this.styles.set(caseId, style);
    }
    const sheet = await style;
    return {
      rubric: rubricFor(data, imageId, { styleSheet: sheet !== undefined }),
      extra: sheet ? [sheet] : [],
    };
  }

  private caseData(caseId: string): Promise<Case> {
    let data = this.cases.get(caseId);
    if (!data) {
      data = readCase(this.o.root, caseId);
      this.cases.set(caseId, data);
    }
    return data;
  }

  /** One judge call through the gate and the retry table (src/pacing/retry-policy.ts). */
  private async call(rubric: Rubric, images: JudgeImage[], gate: JudgeGate): Promise<Judged> {
    const out: Judged = { calls: 0, costUsd: 0 };
    if (this.disabled) return { ...out, reason: this.disabled };
    const estimate = this.estimateUsd(rubric, images.length);
    const { config } = this.o;
    let attempt = 0;
    let rateLimited = 0;
    for (;;) {
      const refused = await gate.start(estimate);
      if (refused) return { ...out, reason: refused };
      out.calls += 1;
      const result = await this.o.client.call({ rubric: rubric.text, images });
      // A reply the server answered is billed (its usage says how much); an HTTP error is not.
      const spent = result.usage
        ? (actualCostUsd(this.model, result.usage, 'sync') ?? estimate)
        : result.ok
          ? estimate
          : 0;
      gate.end(estimate, spent);
      out.costUsd += spent;
      out.usage = addUsage(out.usage, result.usage);
      if (result.ok) return { ...out, answer: result.answer };
      const failure = result.failure;
      if (failure.errorType === 'rate_limit') rateLimited += 1;
      else attempt += 1;
      const decision = decide(failure, { attempt, rateLimited }, config.qa.maxAttempts, config);
      if (decision.action === 'retry') {
        if (decision.pauseAll) gate.pauseAll(decision.delayMs);
        else await gate.sleep(decision.delayMs);
        continue;
      }
      const reason = `${failure.errorType}: ${failure.message}`;
      // Auth, billing or the judge model's daily quota: no later call of this run can succeed.
      if (decision.action === 'stop-batch') this.disabled = reason;
      return { ...out, reason };
    }
  }

  private estimateUsd(rubric: Rubric, images: number): number {
    const prompt = ESTIMATE.tokensPerImage * images + ESTIMATE.textTokens + Math.ceil(rubric.text.length / 4);
    const usage = { prompt, image: 0, text: ESTIMATE.outputTokens, thoughts: 0, total: 0 };
    // An unknown judge model is reserved at a dear text rate ($2/M in, $12/M out) so the cap errs high.
    return actualCostUsd(this.model, usage, 'sync') ?? (prompt * 2 + ESTIMATE.outputTokens * 12) / 1e6;
  }

  private verdictOf(rubric: Rubric, j: Judged): VisionVerdict {
    const base = {
      checks: rubric.checks.map((c) => c.name),
      model: this.model,
      rubricVersion: rubric.version,
      rubricHash: rubric.hash,
      calls: j.calls,
      costUsd: roundUsd(j.costUsd, 7),
      ...(j.usage ? { usage: j.usage } : {}),
      judgedAt: new Date(this.o.clock.now()).toISOString(),
    };
    if (!j.answer) return { ...base, status: 'not-judged', issues: [], reason: j.reason ?? 'no answer' };
    const issues = [...j.answer.issues];
    // A fail without a named check still needs a line a reviewer can read.
    if (!j.answer.pass && issues.length === 0) {
      issues.push({ check: 'overall', detail: 'the judge failed the picture without naming a check' });
    }
    // Pass only when the judge says so and names nothing wrong: a "pass" with issues is a fail.
    const status = j.answer.pass && issues.length === 0 ? 'pass' : 'fail';
    return { ...base, status, score: j.answer.score, issues };
  }
}

/** Judged beats not judged; a pass beats a fail; then the higher score. */
function rank(v: VisionVerdict): number {
  if (v.status === 'pass') return 2 + (v.score ?? 0);
  if (v.status === 'fail') return 1 + (v.score ?? 0);
  return 0;
}

export function summary(v: VisionVerdict): string {
  return v.issues.map((i) => `${i.check}: ${i.detail}`).join('; ') || v.status;
}

/** The judge's issues as a sentence for the image prompt. */
function repairNotes(issues: readonly VisionIssue[]): string {
  const text = `Fix what a reviewer found wrong with the previous attempt: ${issues.map((i) => `${i.check}: ${i.detail}`).join('; ')}`;
  return text.length > MAX_NOTES ? `${text.slice(0, MAX_NOTES - 1)}…` : text;
}
