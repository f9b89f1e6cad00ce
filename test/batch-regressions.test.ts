// Regressions found in review: each test failed before its fix.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { collectSubmitted, isCollectable, withoutInFlight } from '../src/batch/batch-mode/index.ts';
import { readProgress, writeProgress } from '../src/batch/progress.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import { classifyHttpError } from '../src/providers/classify-error.ts';
import { createPlaceholderProvider } from '../src/providers/placeholder.ts';
import { runBatch } from '../src/run/run-batch.ts';
import { VirtualClock } from '../src/util/clock.ts';
import { caseAll, geminiClients, runAgainstFake, testConfig } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import { type FakeGeminiBatch, startFakeGeminiWithBatch } from './support/fake-gemini-batch.ts';
import { makeTempRoot } from './support/temp-root.ts';

let fake: FakeGemini;
let batch: FakeGeminiBatch;
let root: string;
beforeEach(async () => {
  ({ fake, batch } = await startFakeGeminiWithBatch());
  root = await makeTempRoot();
});
afterEach(async () => {
  await fake.close();
});

function clients() {
  return geminiClients(fake.url);
}

test('a bad key (400 API_KEY_INVALID) stops the batch as auth, and a resume with a good key finishes', async () => {
  const body = JSON.stringify({
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
    },
  });
  expect(classifyHttpError(400, body).errorType).toBe('auth');
  fake.setDefault({
    kind: 'status',
    status: 400,
    message: 'API key not valid. Please pass a valid API key.',
  });
  const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
  expect(summary.exitCode).toBe(1);
  expect(summary.status).toBe('stopped');
  expect(fake.requests).toHaveLength(1);
  expect(summary.failures[0]).toMatchObject({ errorType: 'auth', recoverable: true });
  fake.setDefault({ kind: 'image' });
  const resumed = await runAgainstFake(root, fake, { resume: summary.batchId });
  expect(resumed.summary.exitCode).toBe(0);
  expect(resumed.summary.successful).toBe(4);
});

test('a batch-mode batch stopped with a job alive is still collected and its images held back', async () => {
  const { config, provider, batchClient } = clients();
  let created = 0;
  const result = await runBatch({
    root,
    config,
    provider,
    batchClient,
    clock: new VirtualClock(),
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
  if (result.batchId === null) throw new Error('nothing planned');
  expect(result.status).toBe('stopped');
  expect(isCollectable(await readProgress(root, result.batchId))).toBe(true);
  // The batch still owns all four: two in the live job, two in the job it will create when collected.
  const source = await withoutInFlight(root, caseAll(), () => undefined);
  expect(source).toEqual({ kind: 'images', images: [], options: {} });
  await batch.advanceAll('succeeded');
  const collected = await collectSubmitted(root, {
    config,
    provider,
    client: batchClient,
    clock: new VirtualClock(),
  });
  expect(collected).toHaveLength(1);
});

test('a job the server no longer knows (404) falls back to synchronous generation', async () => {
  const { config, provider, batchClient } = clients();
  const result = await runBatch({
    root,
    config,
    provider,
    batchClient,
    clock: new VirtualClock(),
    source: caseAll(),
    mode: 'batch',
  });
  if (result.batchId === null) throw new Error('nothing planned');
  const progress = await readProgress(root, result.batchId);
  const job = progress.jobs?.[0];
  if (!job) throw new Error('no job recorded');
  job.name = 'batches/gone';
  await writeProgress(root, progress);
  const resumed = await runBatch({
    root,
    config,
    provider,
    batchClient,
    clock: new VirtualClock(),
    resume: result.batchId,
  });
  if (resumed.batchId === null) throw new Error('nothing planned');
  expect(resumed.status).toBe('completed');
  expect(resumed.successful).toBe(4);
});

test('an image kept after failing the quality checks is not adopted as finished on resume --force', async () => {
  const check = (item: { imageId: string }) => (item.imageId === 'suspect-1' ? ['too-dark'] : []);
  const { summary } = await runAgainstFake(root, fake, { source: caseAll(), check });
  expect(summary.failed).toBe(1);
  const before = fake.requests.length;
  const resumed = await runAgainstFake(root, fake, { resume: summary.batchId, force: true });
  expect(resumed.lines.some((l) => l.includes('RECOVERED'))).toBe(false);
  expect(fake.requests.length - before).toBe(1);
  expect((await readManifest(root, 'case-2025-01-19')).images['suspect-1']?.quality).toEqual([]);
});

test('one 429 on the very first request does not cripple the rest of the run', async () => {
  const clock = new VirtualClock();
  fake.enqueue({ kind: 'rate-limit', retryDelaySec: 1 });
  await runAgainstFake(root, fake, {
    source: caseAll(),
    clock,
    config: { rateLimit: { requestsPerMinute: 30 }, timing: { delayBetweenImages: 0 } },
  });
  expect(clock.now() - Date.UTC(2025, 0, 19, 10)).toBeLessThan(10_000);
});

test('the cost cap is per run: a batch stopped by it goes on when resumed', async () => {
  const capped = { cost: { maxCost: 0.08 } };
  const first = await runAgainstFake(root, fake, {
    source: caseAll(),
    explicitMaxCost: true,
    config: capped,
  });
  expect(first.summary.successful).toBe(2);
  const resumed = await runAgainstFake(root, fake, {
    resume: first.summary.batchId,
    explicitMaxCost: true,
    config: capped,
  });
  expect(resumed.summary.exitCode).toBe(0);
  expect(resumed.summary.successful).toBe(4);
});

test('a gemini batch is not resumed with another provider', async () => {
  const first = await runAgainstFake(root, fake, {
    source: caseAll(),
    explicitMaxCost: true,
    config: { cost: { maxCost: 0.08 } },
  });
  await expect(
    runBatch({
      root,
      config: testConfig(),
      provider: createPlaceholderProvider(),
      clock: new VirtualClock(),
      resume: first.summary.batchId,
    }),
  ).rejects.toThrow(/was started with gemini\/gemini-nano-banana-2\.1; resume it with the same provider/);
});

test('Ctrl-C waits for the image in flight (it is paid for) and leaves the rest pending', async () => {
  const { config, provider } = clients();
  const controller = new AbortController();
  fake.enqueue({ kind: 'image', latencyMs: 300 });
  fake.waitForRequests(1).then(() => controller.abort());
  const result = await runBatch({
    root,
    config,
    provider,
    clock: new VirtualClock(),
    source: caseAll(),
    signal: controller.signal,
  });
  if (result.batchId === null) throw new Error('nothing planned');
  expect(result.exitCode).toBe(3);
  expect(fake.requests).toHaveLength(1);
  expect(result.successful).toBe(1);
  expect(result.pending).toBe(3);
});

test('a resume does not pay again for an image another batch made since it started', async () => {
  const first = await runAgainstFake(root, fake, {
    source: caseAll(),
    explicitMaxCost: true,
    config: { cost: { maxCost: 0.08 } },
  });
  expect(first.summary.pending).toBe(2);
  // Meanwhile a nightly fix made the scene (recorded later than this batch's start).
  const other = await runAgainstFake(root, fake, {
    source: { kind: 'images', images: [{ type: 'scene', caseId: 'case-2025-01-19' }] },
  });
  const { updateManifest } = await import('../src/cases/manifest-store.ts');
  await updateManifest(root, 'case-2025-01-19', (m) => {
    const scene = m.images.scene;
    if (scene) scene.generatedAt = new Date(Date.now() + 60_000).toISOString();
  });
  const before = fake.requests.length;
  const resumed = await runAgainstFake(root, fake, { resume: first.summary.batchId });
  expect(resumed.lines.some((l) => l.includes(`SKIPPED: scene was made by ${other.summary.batchId}`))).toBe(
    true,
  );
  expect(fake.requests.length - before).toBe(1);
  expect(resumed.summary.exitCode).toBe(0);
});

test('a crash inside one worker stops the others and leaves the batch resumable', async () => {
  let calls = 0;
  const check = () => {
    calls += 1;
    if (calls === 2) throw new Error('disk full');
    return [];
  };
  await expect(
    runAgainstFake(root, fake, { source: caseAll(), check, config: { timing: { maxConcurrent: 2 } } }),
  ).rejects.toThrow('disk full');
  const requests = fake.requests.length;
  expect(requests).toBeLessThanOrEqual(3);
  const { readdir } = await import('node:fs/promises');
  const [file] = await readdir(`${root}/reports/progress`);
  const progress = await readProgress(root, (file ?? '').replace(/\.json$/, ''));
  expect(progress.status).toBe('stopped');
  const resumed = await runAgainstFake(root, fake, { resume: progress.batchId });
  expect(resumed.summary.exitCode).toBe(0);
  expect(resumed.summary.successful).toBe(4);
});
