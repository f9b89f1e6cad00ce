import { expect, test } from 'vitest';
import { readManifest } from '../src/cases/manifest-store.ts';
import { runScript } from './support/cli.ts';
import { TEST_KEY } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import { useFakeGeminiWithBatch } from './support/fake-world.ts';

let fake: FakeGemini;
let batch: FakeGeminiBatch;
let root: string;
useFakeGeminiWithBatch(
  (world) => {
    ({ fake, batch, root } = world);
  },
  { timing: { delayBetweenImages: 0 } },
);

const gemini = () => ({ GEMINI_API_KEY: TEST_KEY, GOOGLE_GEMINI_BASE_URL: fake.url });

test('--mode batch submits and exits 0; --resume collects at the batch price', async () => {
  const estimate = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'batch', '--estimate-only', '--json'],
    root,
    gemini(),
  );
  expect(JSON.parse(estimate.stdout)).toMatchObject({
    mode: 'batch',
    costPerImage: 0.0168,
    estimatedCostUsd: 0.0672,
  });

  const submit = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'batch'],
    root,
    gemini(),
  );
  expect(submit.stderr).toBe('');
  expect(submit.code).toBe(0);
  expect(submit.stdout).toMatch(/Submitted to the Gemini Batch API/);
  expect(submit.stdout).toContain('--resume batch-');
  expect(batch.jobs).toHaveLength(1);
  const batchId = /--resume (batch-\S+)/.exec(submit.stdout)?.[1] ?? '';

  await batch.advanceAll('succeeded');
  const collect = await runScript(
    'batch-generate-images.ts',
    ['--resume', batchId, '--json'],
    root,
    gemini(),
  );
  expect(collect.code).toBe(0);
  expect(JSON.parse(collect.stdout)).toMatchObject({ status: 'completed', successful: 4, costUsd: 0.0672 });
  expect((await readManifest(root, 'case-2025-01-19')).images['suspect-1']).toMatchObject({ mode: 'batch' });
  expect(fake.requests.filter((r) => r.path.endsWith(':generateContent'))).toHaveLength(0);
  expect(collect.stdout + collect.stderr + submit.stdout).not.toContain(TEST_KEY);
});

test('--mode batch without a key is refused (exit 2), and a bad mode too', async () => {
  const noKey = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'batch'],
    root,
  );
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toMatch(/--mode batch needs the gemini provider/);
  const bad = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'later'],
    root,
    gemini(),
  );
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/"later" is not a mode/);
  expect(batch.calls).toHaveLength(0);
});
