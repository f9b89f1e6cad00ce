import { expect, test } from 'vitest';
import { readManifest } from '../src/cases/manifest-store.ts';
import { runScript } from './support/cli.ts';
import { TEST_KEY } from './support/engine.ts';
import { NO_DELAY_CONFIG, useBatchWorld } from './support/fake-world.ts';

const world = useBatchWorld(NO_DELAY_CONFIG);

const gemini = () => ({ GEMINI_API_KEY: TEST_KEY, GOOGLE_GEMINI_BASE_URL: world.fake.url });

test('--mode batch submits and exits 0; --resume collects at the batch price', async () => {
  const estimate = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'batch', '--estimate-only', '--json'],
    world.root,
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
    world.root,
    gemini(),
  );
  expect(submit.stderr).toBe('');
  expect(submit.code).toBe(0);
  expect(submit.stdout).toMatch(/Submitted to the Gemini Batch API/);
  expect(submit.stdout).toContain('--resume batch-');
  expect(world.batch.jobs).toHaveLength(1);
  const batchId = /--resume (batch-\S+)/.exec(submit.stdout)?.[1] ?? '';

  await world.batch.advanceAll('succeeded');
  const collect = await runScript(
    'batch-generate-images.ts',
    ['--resume', batchId, '--json'],
    world.root,
    gemini(),
  );
  expect(collect.code).toBe(0);
  expect(JSON.parse(collect.stdout)).toMatchObject({ status: 'completed', successful: 4, costUsd: 0.0672 });
  expect((await readManifest(world.root, 'case-2025-01-19')).images['suspect-1']).toMatchObject({
    mode: 'batch',
  });
  expect(world.fake.requests.filter((r) => r.path.endsWith(':generateContent'))).toHaveLength(0);
  expect(collect.stdout + collect.stderr + submit.stdout).not.toContain(TEST_KEY);
});

test('--mode batch without a key is refused (exit 2), and a bad mode too', async () => {
  const noKey = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'batch'],
    world.root,
  );
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toMatch(/--mode batch needs the gemini provider/);
  const bad = await runScript(
    'batch-generate-images.ts',
    ['--case-id', 'case-2025-01-19', '--mode', 'later'],
    world.root,
    gemini(),
  );
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/"later" is not a mode/);
  expect(world.batch.calls).toHaveLength(0);
});
