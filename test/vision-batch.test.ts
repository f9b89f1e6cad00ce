import { expect, test } from 'vitest';
import type { BatchSummary } from '../src/batch/types.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import { runBatch } from '../src/run/run-batch.ts';
import { VirtualClock } from '../src/util/clock.ts';
import { caseAll, fakeVision, geminiClients } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import { useFakeGeminiWithBatch } from './support/fake-world.ts';

let fake: FakeGemini;
let batch: FakeGeminiBatch;
let root: string;
useFakeGeminiWithBatch((world) => {
  ({ fake, batch, root } = world);
});

async function run(resume?: string): Promise<BatchSummary> {
  const { config, provider, batchClient } = geminiClients(fake.url);
  const clock = new VirtualClock();
  const result = await runBatch({
    root,
    config,
    provider,
    batchClient,
    clock,
    ...(resume ? { resume } : { source: caseAll(), mode: 'batch' as const }),
    vision: fakeVision(root, fake.url, config, 'regenerate', clock),
  });
  if (result.batchId === null) throw new Error('nothing was planned');
  return result;
}

test('batch-mode results are judged as they are collected: flagged, not repaired, lineup too, at the batch price', async () => {
  const submitted = await run();
  expect(fake.judge.requests).toHaveLength(0);
  await batch.advanceAll('succeeded');
  fake.judge.setHandler((r) =>
    r.rubric.includes('Stage manager')
      ? { kind: 'fail', issues: [{ check: 'clothing', detail: 'no waistcoat' }] }
      : undefined,
  );
  const collected = await run(submitted.batchId);
  expect(collected.exitCode).toBe(0);
  expect(collected.successful).toBe(4);
  // No synchronous image call: a failed batch image is flagged, not regenerated at full price.
  expect(fake.requests.filter((r) => r.path.endsWith(':generateContent'))).toHaveLength(0);
  expect(fake.judge.requests.map((r) => r.images.length)).toEqual([1, 1, 1, 1, 3]);
  const manifest = await readManifest(root, 'case-2025-01-19');
  expect(manifest.images['suspect-2']?.vision).toMatchObject({
    status: 'fail',
    issues: [{ check: 'clothing' }],
  });
  expect(manifest.images['suspect-2']?.mode).toBe('batch');
  // Half of (12 prompt tokens at $1.50/M + 1,120 image tokens at $30/M + 180 thought tokens at $7.50/M).
  expect(manifest.images['suspect-2']?.provenance?.actualCostUsd).toBeCloseTo(
    (12 * 1.5 + 1120 * 30 + 180 * 7.5) / 2e6,
    7,
  );
  expect(manifest.lineup?.status).toBe('pass');
  expect(collected.metrics).toMatchObject({ judged: { pass: 3, fail: 1, notJudged: 0 }, judgeCalls: 5 });
});
