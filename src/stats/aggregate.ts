import { stringify } from 'csv-stringify/sync';
import { isRealDate } from '../cases/ids.ts';
import { InputError } from '../errors.ts';
import { roundUsd } from '../util/money.ts';
import type { DatedReport } from './reports.ts';

/**
 * The seed's columns first, in its order (batch_id, date, total, successful, failed, time, cost);
 * `mode` and the rest are ours and go last so readers of the seed's CSV keep working (README, "The seed: what lineup replaces").
 */
const STATS_COLUMNS = [
  'batch_id',
  'date',
  'total',
  'successful',
  'failed',
  'time',
  'cost',
  'mode',
  'actual_cost',
  'judge_cost',
  'judge_pass_rate',
] as const;

export interface StatsRow {
  batchId: string;
  date: string;
  total: number;
  successful: number;
  failed: number;
  /** Milliseconds, as the report holds them; the CSV shows seconds. */
  timeMs: number;
  /** USD. */
  costUsd: number;
  mode: 'sync' | 'batch';
  /** Tokens × published prices; undefined for reports without usage (older ones, the placeholder). */
  actualCostUsd?: number | undefined;
  /** What the vision judge cost; undefined when it did not run. */
  judgeCostUsd?: number | undefined;
  /** Passed ÷ judged (0–1); undefined when nothing was judged. */
  judgePassRate?: number | undefined;
}

export interface DayTotals {
  date: string;
  batches: number;
  total: number;
  successful: number;
  failed: number;
  timeMs: number;
  costUsd: number;
}

export interface DateRange {
  from?: string | undefined;
  to?: string | undefined;
}

function checkDate(value: string | undefined, flag: string): void {
  if (value !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(value) && isRealDate(value))) {
    throw new InputError(`${JSON.stringify(value)} is not a date; expected YYYY-MM-DD`, { field: flag });
  }
}

export function checkRange(range: DateRange): void {
  checkDate(range.from, '--from');
  checkDate(range.to, '--to');
  if (range.from && range.to && range.from > range.to) {
    throw new InputError(`${range.from} is after --to ${range.to}`, { field: '--from' });
  }
}

/** Rows of the batches whose id date lies within the range, both ends included; sorted by batch id. */
export function statsRows(reports: readonly DatedReport[], range: DateRange = {}): StatsRow[] {
  checkRange(range);
  return reports
    .filter((r) => (!range.from || r.date >= range.from) && (!range.to || r.date <= range.to))
    .map(({ date, report }) => ({
      batchId: report.batchId,
      date,
      total: report.summary.total,
      successful: report.summary.successful,
      failed: report.summary.failed,
      timeMs: report.metrics.totalTimeMs,
      costUsd: report.metrics.estimatedCostUsd,
      mode: report.mode,
      actualCostUsd: report.metrics.actualCostUsd,
      judgeCostUsd: report.metrics.judgeCostUsd,
      judgePassRate: report.metrics.judgePassRate,
    }))
    .sort((a, b) => (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0));
}

/**
 * Seconds to a tenth. Rounded in integer milliseconds first: toFixed on the float 5.05 gives 5.0,
 * because 5.05 is stored as 5.04999…
 */
function formatTime(ms: number): string {
  return (Math.round(ms / 100) / 10).toFixed(1);
}

/** USD to a hundredth of a cent, since batch-mode images cost $0.0195. */
export function formatCost(usd: number): string {
  return roundUsd(usd).toFixed(4);
}

export function toCsv(rows: readonly StatsRow[]): string {
  return stringify(
    rows.map((r) => [
      r.batchId,
      r.date,
      r.total,
      r.successful,
      r.failed,
      formatTime(r.timeMs),
      formatCost(r.costUsd),
      r.mode,
      // Empty, not 0, when unknown: "nothing was measured" is not "it cost nothing".
      r.actualCostUsd === undefined ? '' : formatCost(r.actualCostUsd),
      r.judgeCostUsd === undefined ? '' : formatCost(r.judgeCostUsd),
      r.judgePassRate === undefined ? '' : r.judgePassRate.toFixed(3),
    ]),
    { header: true, columns: [...STATS_COLUMNS] },
  );
}

export function perDay(rows: readonly StatsRow[]): DayTotals[] {
  const days = new Map<string, DayTotals>();
  for (const r of rows) {
    const d = days.get(r.date) ?? {
      date: r.date,
      batches: 0,
      total: 0,
      successful: 0,
      failed: 0,
      timeMs: 0,
      costUsd: 0,
    };
    d.batches += 1;
    d.total += r.total;
    d.successful += r.successful;
    d.failed += r.failed;
    d.timeMs += r.timeMs;
    d.costUsd += r.costUsd;
    days.set(r.date, d);
  }
  return [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1));
}

export function totals(rows: readonly StatsRow[]): Omit<DayTotals, 'date'> {
  return rows.reduce(
    (t, r) => ({
      batches: t.batches + 1,
      total: t.total + r.total,
      successful: t.successful + r.successful,
      failed: t.failed + r.failed,
      timeMs: t.timeMs + r.timeMs,
      costUsd: t.costUsd + r.costUsd,
    }),
    { batches: 0, total: 0, successful: 0, failed: 0, timeMs: 0, costUsd: 0 },
  );
}

/** A plain fixed-width table for the terminal, with a totals line. */
export function toTable(rows: readonly StatsRow[]): string {
  const head = ['batch_id', 'date', 'mode', 'total', 'ok', 'failed', 'time (s)', 'cost ($)'];
  const body = rows.map((r) => [
    r.batchId,
    r.date,
    r.mode,
    String(r.total),
    String(r.successful),
    String(r.failed),
    formatTime(r.timeMs),
    formatCost(r.costUsd),
  ]);
  const t = totals(rows);
  const foot = [
    `${t.batches} batch(es)`,
    '',
    '',
    String(t.total),
    String(t.successful),
    String(t.failed),
    formatTime(t.timeMs),
    formatCost(t.costUsd),
  ];
  const all = [head, ...body, foot];
  const widths = head.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  // Text columns left, numbers right, as a reader scans them.
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...body.map(line), rule, line(foot)].join('\n');
}
