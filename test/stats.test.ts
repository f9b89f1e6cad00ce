import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchStats } from '../src/cli/batch-stats.ts';
import { InputError } from '../src/errors.ts';
import { chartFileFor, perDay, readBatchReports, statsRows, writeBatchStats } from '../src/stats/index.ts';
import { REPO, runScript } from './support/cli.ts';
import { captureOutput } from './support/output.ts';
import { makeTempRoot } from './support/temp-root.ts';

interface Fixture {
  batchId: string;
  total: number;
  successful: number;
  failed: number;
  pending?: number;
  timeMs: number;
  cost: number;
  mode?: 'sync' | 'batch';
  extra?: Record<string, number>;
}

/** A report shaped like the batch engine's (src/batch/error-report.ts), extra fields included. */
function report(f: Fixture): unknown {
  return {
    batchId: f.batchId,
    generatedAt: `${f.batchId.slice(6, 16)}T10:00:00.000Z`,
    status: f.failed ? 'completed_with_failures' : 'completed',
    provider: 'gemini',
    model: 'gemini-2.5-flash-image',
    mode: f.mode ?? 'sync',
    summary: { total: f.total, successful: f.successful, failed: f.failed, pending: f.pending ?? 0 },
    failures: [],
    recommendations: [],
    metrics: {
      totalImages: f.total,
      successful: f.successful,
      failed: f.failed,
      skipped: 0,
      pending: f.pending ?? 0,
      totalTimeMs: f.timeMs,
      averageTimePerImageMs: f.total ? f.timeMs / f.total : 0,
      apiCalls: f.total,
      retries: 0,
      retryRate: 0,
      rateLimitHits: 0,
      estimatedCostUsd: f.cost,
      ...f.extra,
    },
  };
}

const FIXTURES: Fixture[] = [
  { batchId: 'batch-2025-01-19-001', total: 4, successful: 4, failed: 0, timeMs: 312_456, cost: 0.156 },
  { batchId: 'batch-2025-01-19-002', total: 2, successful: 1, failed: 1, timeMs: 65_000, cost: 0.039 },
  {
    batchId: 'batch-2025-01-20-001',
    total: 4,
    successful: 3,
    failed: 0,
    pending: 1,
    timeMs: 5_050,
    cost: 0.0585,
    mode: 'batch',
  },
  { batchId: 'batch-2024-12-31-001', total: 1, successful: 0, failed: 1, timeMs: 120_000, cost: 0 },
  {
    batchId: 'batch-2025-02-01-001',
    total: 3,
    successful: 3,
    failed: 0,
    timeMs: 9_999,
    cost: 0.117,
    // A run with usage metadata and the vision judge.
    extra: { actualCostUsd: 0.11652, judgeCostUsd: 0.00081, judgePassRate: 2 / 3 },
  },
];

async function rootWithReports(fixtures = FIXTURES): Promise<string> {
  const root = await makeTempRoot({ withSamples: false });
  const dir = join(root, 'reports', 'errors');
  await mkdir(dir, { recursive: true });
  for (const f of fixtures)
    await writeFile(join(dir, `${f.batchId}.json`), JSON.stringify(report(f), null, 2));
  // Not batch reports: must be ignored, not rejected.
  await writeFile(join(dir, 'README.txt'), 'notes');
  await writeFile(join(dir, 'summary.json'), '{"not":"a report"}');
  return root;
}

describe('batch statistics', () => {
  it('writes the exact CSV for known reports, seed columns first, then mode, actual and judge cost, pass rate', async () => {
    const root = await rootWithReports();
    const result = await writeBatchStats(root);
    const csv = await readFile(join(root, 'reports', 'stats.csv'), 'utf8');
    expect(csv).toBe(result.csv);
    expect(csv).toBe(
      [
        'batch_id,date,total,successful,failed,time,cost,mode,actual_cost,judge_cost,judge_pass_rate',
        'batch-2024-12-31-001,2024-12-31,1,0,1,120.0,0.0000,sync,,,',
        'batch-2025-01-19-001,2025-01-19,4,4,0,312.5,0.1560,sync,,,',
        'batch-2025-01-19-002,2025-01-19,2,1,1,65.0,0.0390,sync,,,',
        'batch-2025-01-20-001,2025-01-20,4,3,0,5.1,0.0585,batch,,,',
        'batch-2025-02-01-001,2025-02-01,3,3,0,10.0,0.1170,sync,0.1165,0.0008,0.667',
        '',
      ].join('\n'),
    );
  });

  it('filters by the date in the batch id, both ends included', async () => {
    const reports = await readBatchReports(await rootWithReports());
    const ids = (from?: string, to?: string) => statsRows(reports, { from, to }).map((r) => r.batchId);
    expect(ids('2025-01-01', '2025-01-31')).toEqual([
      'batch-2025-01-19-001',
      'batch-2025-01-19-002',
      'batch-2025-01-20-001',
    ]);
    expect(ids('2025-01-20')).toEqual(['batch-2025-01-20-001', 'batch-2025-02-01-001']);
    expect(ids(undefined, '2025-01-19')).toEqual([
      'batch-2024-12-31-001',
      'batch-2025-01-19-001',
      'batch-2025-01-19-002',
    ]);
    expect(ids('2025-01-21', '2025-01-31')).toEqual([]);
  });

  it('sums per day for the chart', async () => {
    const rows = statsRows(await readBatchReports(await rootWithReports()), {
      from: '2025-01-19',
      to: '2025-01-19',
    });
    const [day] = perDay(rows);
    expect(day).toMatchObject({ date: '2025-01-19', batches: 2, successful: 5, failed: 1, total: 6 });
    expect(day?.costUsd).toBeCloseTo(0.195, 10);
  });

  it('rejects bad dates and reversed ranges as input errors, writing nothing', async () => {
    const root = await rootWithReports();
    const out = captureOutput();
    await expect(batchStats(root, { from: '2025-13-01' }, out)).rejects.toThrow(InputError);
    await expect(batchStats(root, { from: '2025-02-01', to: '2025-01-01' }, out)).rejects.toThrow(/after/);
    await expect(readFile(join(root, 'reports', 'stats.csv'))).rejects.toThrow(/ENOENT/);
  });

  it('names the file and field of a malformed report', async () => {
    const root = await rootWithReports();
    await writeFile(
      join(root, 'reports', 'errors', 'batch-2025-01-22-001.json'),
      JSON.stringify({ batchId: 'batch-2025-01-22-001', summary: { total: 'four' } }),
    );
    await expect(readBatchReports(root)).rejects.toThrow(/batch-2025-01-22-001\.json: summary\.total/);
  });

  it('writes the CSV to --export and the chart beside it', async () => {
    const root = await rootWithReports();
    const out = captureOutput();
    const target = join(root, 'out', 'january.csv');
    const code = await batchStats(root, { from: '2025-01-01', to: '2025-01-31', export: target }, out);
    expect(code).toBe(0);
    const csv = await readFile(target, 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(4);
    const svg = await readFile(chartFileFor(target), 'utf8');
    expect(chartFileFor(target)).toBe(join(root, 'out', 'january.svg'));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // Two days of bars, one cost line with a point per day.
    expect(svg).toContain('2025-01-19: 5 successful, 1 failed, $0.1950 (2 batches)');
    expect(svg).toContain('2025-01-20: 3 successful, 0 failed, $0.0585 (1 batch)');
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(balancedTags(svg)).toBe(true);
    const table = out.lines.join('\n');
    expect(table).toContain('batch-2025-01-20-001  2025-01-20  batch');
    expect(table).toContain('3 batch(es)');
    expect(table).toContain('Success rate 80.0%, total cost $0.2535');
  });

  it('works on a fresh clone with no reports: header-only CSV and an empty chart', async () => {
    const root = await makeTempRoot({ withSamples: false });
    const out = captureOutput();
    expect(await batchStats(root, { from: '2025-01-01', to: '2025-01-31' }, out)).toBe(0);
    expect(await readFile(join(root, 'reports', 'stats.csv'), 'utf8')).toBe(
      'batch_id,date,total,successful,failed,time,cost,mode,actual_cost,judge_cost,judge_pass_rate\n',
    );
    const svg = await readFile(join(root, 'reports', 'stats.svg'), 'utf8');
    expect(svg).toContain('No batches in this range');
    expect(balancedTags(svg)).toBe(true);
    expect(out.lines[0]).toMatch(/No batch reports/);
  });

  it("runs as the seed's command line", async () => {
    const root = await rootWithReports();
    const run = (args: string[]) =>
      runScript('batch-stats.ts', args, root, {
        PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH}`,
      });
    const ranged = await run(['--from', '2025-01-01', '--to', '2025-01-31']);
    expect(ranged.code).toBe(0);
    expect(ranged.stdout).toContain('batch-2025-01-19-002');
    expect(ranged.stdout).not.toContain('batch-2025-02-01-001');
    const exported = await run(['--export', 'stats.csv']);
    expect(exported.code).toBe(0);
    expect((await readFile(join(root, 'stats.csv'), 'utf8')).split('\n')).toHaveLength(7);
    await readFile(join(root, 'stats.svg'), 'utf8');
    const bad = await run(['--to', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to: "yesterday" is not a date/);
  });
});

/** Enough of an XML check for hand-written SVG: every opened element is closed in order. */
function balancedTags(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name ?? '');
  }
  return stack.length === 0;
}
