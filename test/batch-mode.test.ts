import { describe, expect, test } from 'vitest';
import {
  type BatchModeOptions,
  collectSubmitted,
  DEFAULT_CHUNK_LIMITS,
  isCollectable,
  jobDisplayName,
  withoutInFlight,
} from '../src/batch/batch-mode/index.ts';
import type { PlanSource } from '../src/batch/plan.ts';
import { readProgress, writeProgress } from '../src/batch/progress.ts';
import type { BatchSummary } from '../src/batch/types.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import type { ConfigInput } from '../src/config/schema.ts';
import { DEFAULT_MODEL } from '../src/config/schema.ts';
import { BatchApiError, classifyJobError } from '../src/providers/gemini-batch.ts';
import type { ImageCheck } from '../src/quality/index.ts';
import { runBatch } from '../src/run/run-batch.ts';
import { statsRows } from '../src/stats/aggregate.ts';
import { readBatchReports } from '../src/stats/reports.ts';
import { VirtualClock } from '../src/util/clock.ts';
import { caseAll, geminiClients, readJson, TEST_KEY } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import { useFakeGeminiWithBatch } from './support/fake-world.ts';

let fake: FakeGemini;
let batch: FakeGeminiBatch;
let root: string;
useFakeGeminiWithBatch((world) => {
  ({ fake, batch, root } = world);
});

interface RunOptions {
  source?: PlanSource;
  resume?: string;
  mode?: 'sync' | 'batch';
  config?: ConfigInput;
  explicitMaxCost?: boolean;
  batchOptions?: Pick<BatchModeOptions, 'limits' | 'afterCreate'>;
  check?: ImageCheck;
}

/** A batch's first job's display name, as the submitter derives it. */
async function nameOf(batchId: string): Promise<string> {
  return jobDisplayName(batchId, 0, (await readProgress(root, batchId)).createdAtMs);
}

function clients(over: ConfigInput = {}) {
  return geminiClients(fake.url, over);
}

/** Runs the real engine and the real @google/genai client against the fake, on a virtual clock. */
async function run(options: RunOptions): Promise<{ summary: BatchSummary; lines: string[] }> {
  const { config, provider, batchClient } = clients(options.config);
  const lines: string[] = [];
  const result = await runBatch({
    root,
    config,
    provider,
    batchClient,
    clock: new VirtualClock(),
    ...(options.source ? { source: options.source } : {}),
    ...(options.resume ? { resume: options.resume } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.batchOptions ? { batchOptions: options.batchOptions } : {}),
    ...(options.check ? { check: options.check } : {}),
    explicitMaxCost: options.explicitMaxCost ?? false,
    events: { log: (line) => lines.push(line) },
  });
  if (result.batchId === null) throw new Error('nothing was planned');
  return { summary: result, lines };
}

/** collectSubmitted with the real clients against the fake, on a virtual clock. */
function collect() {
  const { config, provider, batchClient } = clients();
  return collectSubmitted(root, { config, provider, client: batchClient, clock: new VirtualClock() });
}

const generateCalls = () => fake.requests.filter((r) => r.path.endsWith(':generateContent')).length;

function threeCases(): PlanSource {
  const images = ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21'].flatMap((caseId) => [
    ...['suspect-1', 'suspect-2', 'suspect-3'].map((suspectId) => ({
      type: 'suspect' as const,
      caseId,
      suspectId,
    })),
    { type: 'scene' as const, caseId },
  ]);
  return { kind: 'images', images };
}

describe('submit, then collect', () => {
  test('a new batch becomes one job, ends submitted (exit 0), and is collected at half price', async () => {
    const first = await run({ source: caseAll(), mode: 'batch' });
    expect(first.summary).toMatchObject({
      status: 'submitted',
      exitCode: 0,
      pending: 4,
      successful: 0,
      costUsd: 0,
    });
    expect(generateCalls()).toBe(0);
    expect(batch.jobs).toHaveLength(1);
    const job = batch.jobs[0];
    expect(job?.displayName).toBe(await nameOf(first.summary.batchId));
    expect(job?.model).toBe(DEFAULT_MODEL);
    expect(job?.requests.map((r) => r.key)).toEqual([
      'case-2025-01-19/suspect-1',
      'case-2025-01-19/suspect-2',
      'case-2025-01-19/suspect-3',
      'case-2025-01-19/scene',
    ]);
    expect(job?.requests.map((r) => r.aspectRatio)).toEqual(['3:4', '3:4', '3:4', '16:9']);
    const submitted = await readProgress(root, first.summary.batchId);
    expect(submitted).toMatchObject({ status: 'submitted', mode: 'batch' });
    expect(submitted.jobs).toEqual([
      {
        name: job?.name,
        displayName: job?.displayName,
        keys: job?.requests.map((r) => r.key),
        state: 'JOB_STATE_PENDING',
        createdAt: job?.createTime,
      },
    ]);
    expect(first.lines.at(-1)).toMatch(/SUBMITTED: 4 image\(s\) wait in 1 Gemini batch job\(s\)/);

    // Still running: nothing saved, still submitted, no second job.
    await batch.advance(job?.name ?? '', 'running');
    const waiting = await run({ resume: first.summary.batchId });
    expect(waiting.summary).toMatchObject({ status: 'submitted', exitCode: 0, pending: 4 });
    expect(waiting.lines.some((l) => l.includes('is running'))).toBe(true);
    expect((await readProgress(root, first.summary.batchId)).jobs?.[0]?.state).toBe('JOB_STATE_RUNNING');

    await batch.advance(job?.name ?? '', 'succeeded');
    const done = await run({ resume: first.summary.batchId });
    expect(done.summary).toMatchObject({ status: 'completed', exitCode: 0, successful: 4, costUsd: 0.0672 });
    expect(done.summary.generated.map((g) => g.costUsd)).toEqual([0.0168, 0.0168, 0.0168, 0.0168]);
    expect(generateCalls()).toBe(0);
    expect(batch.count('create')).toBe(1);
    const manifest = await readManifest(root, 'case-2025-01-19');
    expect(manifest.images['suspect-2']).toMatchObject({
      mode: 'batch',
      costUsd: 0.0168,
      batchId: first.summary.batchId,
      attempts: 1,
      provider: 'gemini',
      width: 896,
      height: 1200,
    });
    expect(manifest.images.scene).toMatchObject({ mode: 'batch', width: 1376, height: 768 });
    expect((await readProgress(root, first.summary.batchId)).jobs?.[0]?.state).toBe('JOB_STATE_SUCCEEDED');

    // Collecting again asks nothing and changes nothing.
    const calls = batch.calls.length;
    const again = await run({ resume: first.summary.batchId });
    expect(again.summary).toMatchObject({ status: 'completed', successful: 4 });
    expect(batch.calls).toHaveLength(calls);
  });

  test('reports, stats and the estimate use the batch price', async () => {
    const first = await run({ source: caseAll(), mode: 'batch' });
    const pendingReport = (await readJson(first.summary.errorReportFile)) as Record<string, unknown>;
    expect(pendingReport).toMatchObject({ mode: 'batch', status: 'submitted', summary: { pending: 4 } });
    await batch.advanceAll('succeeded');
    const done = await run({ resume: first.summary.batchId });
    const report = (await readJson(done.summary.errorReportFile)) as Record<string, unknown>;
    expect(report).toMatchObject({
      mode: 'batch',
      status: 'completed',
      summary: { total: 4, successful: 4, failed: 0 },
      metrics: { estimatedCostUsd: 0.0672 },
    });
    const rows = statsRows(await readBatchReports(root));
    expect(rows).toEqual([
      expect.objectContaining({ batchId: first.summary.batchId, mode: 'batch', costUsd: 0.0672 }),
    ]);
  });

  test('the cost check before submitting counts the batch price', async () => {
    // Four images: $0.1344 synchronously, $0.0672 in batch mode; a $0.10 cap allows only the latter.
    await expect(run({ source: caseAll(), config: { cost: { maxCost: 0.1 } } })).rejects.toThrow(
      /over cost.maxCost/,
    );
    const { summary } = await run({ source: caseAll(), mode: 'batch', config: { cost: { maxCost: 0.1 } } });
    expect(summary.status).toBe('submitted');
  });

  test('--max-cost submits what fits and leaves the rest pending', async () => {
    const { summary } = await run({
      source: caseAll(),
      mode: 'batch',
      config: { cost: { maxCost: 0.05 } },
      explicitMaxCost: true,
    });
    expect(summary).toMatchObject({ status: 'submitted', exitCode: 0, pending: 4 });
    expect(batch.jobs[0]?.requests).toHaveLength(2);
    const none = await run({
      source: caseAll('case-2025-01-20'),
      mode: 'batch',
      config: { cost: { maxCost: 0.01 } },
      explicitMaxCost: true,
    });
    expect(none.summary).toMatchObject({ status: 'stopped', exitCode: 3 });
    expect(batch.jobs).toHaveLength(1);
  });
});

describe('a crash between creating a job and recording it', () => {
  test('the rerun finds the job by its display name and creates no second one', async () => {
    const crash = new Error('killed right after batches.create');
    await expect(
      run({
        source: caseAll(),
        mode: 'batch',
        batchOptions: {
          afterCreate: () => {
            throw crash;
          },
        },
      }),
    ).rejects.toBe(crash);
    expect(batch.jobs).toHaveLength(1);
    const batchId = 'batch-2025-01-19-001';
    const crashed = await readProgress(root, batchId);
    // The job was planned (and written) before it was created, but its name never reached the file.
    expect(crashed.status).toBe('running');
    expect(crashed.jobs).toEqual([
      expect.objectContaining({ displayName: await nameOf(batchId), state: 'CREATING' }),
    ]);
    expect(crashed.jobs?.[0]?.name).toBeUndefined();

    const collected = await collect();
    expect(collected.map((s) => s.status)).toEqual(['submitted']);
    expect(batch.count('create')).toBe(1);
    expect(batch.jobs).toHaveLength(1);
    expect((await readProgress(root, batchId)).jobs?.[0]?.name).toBe(batch.jobs[0]?.name);

    await batch.advanceAll('succeeded');
    const done = await run({ resume: batchId });
    expect(done.summary).toMatchObject({ status: 'completed', successful: 4 });
    expect(batch.count('create')).toBe(1);
    expect(generateCalls()).toBe(0);
  });

  test('a create that fails after reaching the server is looked up, not repeated', async () => {
    let first = true;
    const { summary, lines } = await run({
      source: caseAll(),
      mode: 'batch',
      batchOptions: {
        afterCreate: () => {
          if (!first) return;
          first = false;
          throw new BatchApiError({
            ok: false,
            errorType: 'network',
            reason: 'timeout',
            message: 'request timed out',
          });
        },
      },
    });
    expect(summary.status).toBe('submitted');
    expect(batch.count('create')).toBe(1);
    expect(lines.some((l) => /already exists as batches\//.test(l))).toBe(true);
  });

  test('a 503 on create is retried; a 400 stops the batch, and --resume submits it later', async () => {
    batch.failNextCreate(503);
    const retried = await run({ source: caseAll('case-2025-01-19'), mode: 'batch' });
    expect(retried.summary.status).toBe('submitted');
    expect(batch.count('create')).toBe(2);
    expect(batch.jobs).toHaveLength(1);

    batch.failNextCreate(400, 'Request payload size exceeds the limit');
    const stopped = await run({ source: caseAll('case-2025-01-20'), mode: 'batch' });
    expect(stopped.summary).toMatchObject({ status: 'stopped', exitCode: 1 });
    expect(stopped.summary.stopReason).toMatch(/creating lineup-.*-job-1 failed: validation/);
    const resumed = await run({ resume: stopped.summary.batchId });
    expect(resumed.summary.status).toBe('submitted');
    expect(batch.jobs.map((j) => j.displayName)).toEqual([
      await nameOf(retried.summary.batchId),
      await nameOf(stopped.summary.batchId),
    ]);
  });
});

describe('failures inside a job', () => {
  test('retryable per-request errors go synchronous, validation ones are recorded', async () => {
    batch.setOutcome((request) => {
      switch (request.key) {
        case 'case-2025-01-19/suspect-1':
          return { kind: 'error', code: 13, message: 'Internal error encountered.' };
        case 'case-2025-01-19/suspect-2':
          return { kind: 'finish', finishReason: 'IMAGE_SAFETY' };
        case 'case-2025-01-19/scene':
          return { kind: 'missing' };
        default:
          return undefined;
      }
    });
    const first = await run({ source: caseAll(), mode: 'batch' });
    await batch.advanceAll('succeeded');
    const { summary, lines } = await run({ resume: first.summary.batchId });
    expect(summary).toMatchObject({
      status: 'completed_with_failures',
      exitCode: 1,
      successful: 3,
      failed: 1,
    });
    expect(generateCalls()).toBe(2);
    expect(summary.failures).toEqual([
      expect.objectContaining({
        suspectId: 'suspect-2',
        errorType: 'validation',
        reason: 'image_blocked',
        recoverable: false,
      }),
    ]);
    const manifest = await readManifest(root, 'case-2025-01-19');
    expect(manifest.images['suspect-1']).toMatchObject({ mode: 'sync', costUsd: 0.0336 });
    expect(manifest.images.scene).toMatchObject({ mode: 'sync', costUsd: 0.0336 });
    expect(manifest.images['suspect-3']).toMatchObject({ mode: 'batch', costUsd: 0.0168 });
    expect(manifest.images['suspect-2']).toBeUndefined();
    expect(summary.costUsd).toBe(0.084);
    expect(lines.some((l) => l.includes('suspect-1 failed in the batch job (api_error'))).toBe(true);
    expect(lines.some((l) => l.includes('returned nothing for scene'))).toBe(true);
    const report = (await readJson(summary.errorReportFile)) as Record<string, unknown>;
    expect(report).toMatchObject({ mode: 'batch', summary: { successful: 3, failed: 1 } });
  });

  test('a quota error inside a job is retried synchronously', async () => {
    batch.setOutcome((request) =>
      request.key === 'case-2025-01-19/scene'
        ? { kind: 'error', code: 8, message: 'Resource exhausted.' }
        : undefined,
    );
    const first = await run({ source: caseAll(), mode: 'batch' });
    await batch.advanceAll('succeeded');
    const { summary } = await run({ resume: first.summary.batchId });
    expect(summary).toMatchObject({ status: 'completed', successful: 4, costUsd: 0.084 });
    expect(generateCalls()).toBe(1);
  });

  test('an image that fails the quality checks is generated again synchronously', async () => {
    const first = await run({ source: caseAll(), mode: 'batch' });
    await batch.advanceAll('succeeded');
    let checked = 0;
    const check: ImageCheck = (item) => {
      checked += 1;
      // Only the batch's scene is bad; its synchronous replacement passes.
      return item.imageId === 'scene' && checked <= 4 ? ['too-dark'] : [];
    };
    const { summary, lines } = await run({ resume: first.summary.batchId, check });
    expect(summary).toMatchObject({ status: 'completed', successful: 4 });
    expect(generateCalls()).toBe(1);
    // The rejected batch image was paid for too: 4 x $0.0168 + $0.0336.
    expect(summary.costUsd).toBe(0.1008);
    expect(lines.some((l) => l.includes('scene failed quality checks (too-dark)'))).toBe(true);
    expect((await readManifest(root, 'case-2025-01-19')).images.scene).toMatchObject({
      mode: 'sync',
      quality: [],
    });
  });

  test('per-request statuses are read as gRPC codes (or HTTP ones) and classified as the error table says', () => {
    expect(classifyJobError({ code: 3, message: 'bad' })).toMatchObject({
      errorType: 'validation',
      status: 400,
    });
    expect(classifyJobError({ code: 8, message: 'quota' })).toMatchObject({
      errorType: 'rate_limit',
      status: 429,
    });
    expect(classifyJobError({ code: 14, message: 'overloaded' })).toMatchObject({ errorType: 'api_error' });
    expect(classifyJobError({ code: 4, message: 'slow' })).toMatchObject({
      errorType: 'api_error',
      status: 504,
    });
    expect(classifyJobError({ code: 16 })).toMatchObject({ errorType: 'auth' });
    expect(classifyJobError({ code: 503, message: 'http style' })).toMatchObject({
      errorType: 'api_error',
      status: 503,
    });
    expect(classifyJobError({ code: 13, message: `key ${TEST_KEY} leaked` }, TEST_KEY).message).not.toContain(
      TEST_KEY,
    );
  });

  test.each(['expired', 'failed', 'cancelled'] as const)(
    'a job that ends %s falls back to synchronous generation',
    async (state) => {
      const first = await run({ source: caseAll(), mode: 'batch' });
      await batch.advanceAll(state);
      const { summary, lines } = await run({ resume: first.summary.batchId });
      expect(summary).toMatchObject({ status: 'completed', exitCode: 0, successful: 4, costUsd: 0.1344 });
      expect(generateCalls()).toBe(4);
      expect(
        lines.some((l) =>
          l.includes(`${state}: 0 result(s) returned, 4 image(s) go to synchronous generation`),
        ),
      ).toBe(true);
      const manifest = await readManifest(root, 'case-2025-01-19');
      expect(manifest.images['suspect-1']).toMatchObject({ mode: 'sync', costUsd: 0.0336 });
      const progress = await readProgress(root, first.summary.batchId);
      expect(progress.jobs?.[0]?.state).toBe(`JOB_STATE_${state.toUpperCase()}`);
      expect(((await readJson(summary.errorReportFile)) as { mode: string }).mode).toBe('batch');
    },
  );
});

describe('batches of several cases', () => {
  test('are split into jobs, each collected as it finishes', async () => {
    const limits = { ...DEFAULT_CHUNK_LIMITS, maxRequests: 5 };
    const first = await run({ source: threeCases(), mode: 'batch', batchOptions: { limits } });
    expect(first.summary).toMatchObject({ status: 'submitted', total: 12 });
    expect(batch.jobs.map((j) => j.requests.length)).toEqual([5, 5, 2]);
    expect(new Set(batch.jobs.map((j) => j.displayName)).size).toBe(3);
    expect(batch.jobs[1]?.requests[0]?.key).toBe('case-2025-01-20/suspect-2');

    await batch.advance(batch.jobs[0]?.name ?? '', 'succeeded');
    await batch.advance(batch.jobs[1]?.name ?? '', 'running');
    const part = await run({ resume: first.summary.batchId });
    expect(part.summary).toMatchObject({ status: 'submitted', exitCode: 0, successful: 5, pending: 7 });
    expect(
      part.lines.some((l) => l.includes('PROGRESS: 1/12 (8%) - case-2025-01-19/suspect-1 complete (batch)')),
    ).toBe(true);

    await batch.advanceAll('succeeded');
    const done = await run({ resume: first.summary.batchId });
    expect(done.summary).toMatchObject({ status: 'completed', successful: 12, costUsd: 0.2016 });
    expect(done.summary.generated).toHaveLength(7);
    for (const caseId of ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21']) {
      const manifest = await readManifest(root, caseId);
      expect(Object.values(manifest.images).map((e) => e.mode)).toEqual(['batch', 'batch', 'batch', 'batch']);
    }
    expect(generateCalls()).toBe(0);
  });

  test('jobs stay under the inline size limit', async () => {
    const limits = { maxBytes: 2500, maxRequests: 100 };
    await run({ source: threeCases(), mode: 'batch', batchOptions: { limits } });
    expect(batch.jobs.length).toBeGreaterThan(1);
    for (const job of batch.jobs) {
      const bytes = job.requests.reduce((n, r) => n + Buffer.byteLength(r.prompt), 0);
      expect(bytes).toBeLessThanOrEqual(2500);
    }
    expect(batch.jobs.flatMap((j) => j.requests)).toHaveLength(12);
  });

  test('collectSubmitted goes over every submitted batch and leaves sync ones alone', async () => {
    const a = await run({ source: caseAll('case-2025-01-19'), mode: 'batch' });
    const b = await run({ source: caseAll('case-2025-01-20'), mode: 'batch' });
    await run({ source: caseAll('case-2025-01-21') });
    const syncCalls = generateCalls();
    await batch.advance(await nameOf(a.summary.batchId), 'succeeded');
    const results = await collect();
    expect(results.map((r) => [r.batchId, r.status])).toEqual([
      [a.summary.batchId, 'completed'],
      [b.summary.batchId, 'submitted'],
    ]);
    expect(generateCalls()).toBe(syncCalls);
  });
});

describe('images in flight', () => {
  test('a new plan leaves the images of an uncollected job to that job', async () => {
    const { summary } = await run({
      source: { kind: 'images', images: [{ type: 'scene', caseId: 'case-2025-01-19' }] },
      mode: 'batch',
    });
    expect(summary.status).toBe('submitted');
    const warnings: string[] = [];
    const source = await withoutInFlight(root, caseAll(), (m) => warnings.push(m));
    expect(source.kind).toBe('images');
    const keys = source.kind === 'images' ? source.images.map((i) => i.suspectId ?? i.type) : [];
    expect(keys).toEqual(['suspect-1', 'suspect-2', 'suspect-3']);
    expect(warnings).toEqual([
      `1 image(s) are waiting in Batch API jobs (${summary.batchId}) and are left to them`,
    ]);
    // Once collected, nothing is held back.
    await batch.advanceAll('succeeded');
    await run({ resume: summary.batchId });
    expect(await withoutInFlight(root, caseAll(), () => undefined)).toEqual(caseAll());
  });
});

describe('jobs stopped or lost', () => {
  test('a batch-mode batch stopped with a job alive is still collected and its images held back', async () => {
    let created = 0;
    const { summary } = await run({
      source: caseAll(),
      mode: 'batch',
      batchOptions: {
        limits: { maxBytes: 1e9, maxRequests: 2 },
        afterCreate: () => {
          created += 1;
          if (created === 1) batch.failNextCreate(400, 'bad request');
        },
      },
    });
    expect(summary.status).toBe('stopped');
    expect(isCollectable(await readProgress(root, summary.batchId))).toBe(true);
    // The batch still owns all four: two in the live job, two in the job it will create when collected.
    const source = await withoutInFlight(root, caseAll(), () => undefined);
    expect(source).toEqual({ kind: 'images', images: [], options: {} });
    await batch.advanceAll('succeeded');
    const collected = await collect();
    expect(collected).toHaveLength(1);
  });

  test('a job the server no longer knows (404) falls back to synchronous generation', async () => {
    const { summary } = await run({ source: caseAll(), mode: 'batch' });
    const progress = await readProgress(root, summary.batchId);
    const job = progress.jobs?.[0];
    if (!job) throw new Error('no job recorded');
    job.name = 'batches/gone';
    await writeProgress(root, progress);
    const resumed = await run({ resume: summary.batchId });
    expect(resumed.summary.status).toBe('completed');
    expect(resumed.summary.successful).toBe(4);
  });
});
