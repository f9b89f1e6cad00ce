import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { BATCH_ID_PATTERN, claimBatchId, startingProgress } from '../src/batch/progress.ts';
import { makeTempRoot } from './support/temp-root.ts';

const initial = startingProgress({
  startTime: '2025-01-19T10:00:00.000Z',
  createdAtMs: 0,
  provider: 'placeholder',
  model: 'placeholder',
  mode: 'sync',
  options: {},
  pending: [],
});
const day = new Date('2025-01-19T10:00:00Z');

test('ids count up per day, and concurrent claims never share one', async () => {
  const root = await makeTempRoot({ withSamples: false });
  const claimed = await Promise.all(Array.from({ length: 8 }, () => claimBatchId(root, day, initial)));
  const ids = claimed.map((p) => p.batchId).sort();
  expect(ids[0]).toBe('batch-2025-01-19-001');
  expect(new Set(ids).size).toBe(8);
  expect((await readdir(join(root, 'reports', 'progress'))).filter((f) => f.endsWith('.json'))).toHaveLength(
    8,
  );
});

test('a scope (parallel CI jobs on separate branches) starts at a distant five-digit number', async () => {
  const a = await claimBatchId(
    await makeTempRoot({ withSamples: false }),
    day,
    initial,
    '123-1-case-2025-01-19',
  );
  const b = await claimBatchId(
    await makeTempRoot({ withSamples: false }),
    day,
    initial,
    '123-1-case-2025-01-20',
  );
  expect(a.batchId).toMatch(/^batch-2025-01-19-\d{5}$/);
  expect(a.batchId).toMatch(BATCH_ID_PATTERN);
  expect(a.batchId).not.toBe(b.batchId);
});
