import { extname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { type DateRange, perDay, type StatsRow, statsRows, toCsv } from './aggregate.ts';
import { statsChartSvg } from './chart.ts';
import { readBatchReports } from './reports.ts';

export {
  checkRange,
  type DateRange,
  formatCost,
  perDay,
  statsRows,
  toTable,
  totals,
} from './aggregate.ts';
export { readBatchReports } from './reports.ts';

function defaultStatsFile(root: string): string {
  return join(root, 'reports', 'stats.csv');
}

/** `stats.csv` → `stats.svg`, beside it; a name without .csv gets .svg appended. */
export function chartFileFor(csvFile: string): string {
  return extname(csvFile).toLowerCase() === '.csv' ? `${csvFile.slice(0, -4)}.svg` : `${csvFile}.svg`;
}

export interface StatsResult {
  rows: StatsRow[];
  csv: string;
  svg: string;
  csvFile: string;
  svgFile: string;
}

/** Reads every batch report, keeps the range, writes the CSV and the chart beside it. */
export async function writeBatchStats(
  root: string,
  options: DateRange & { csvFile?: string | undefined } = {},
): Promise<StatsResult> {
  const rows = statsRows(await readBatchReports(root), options);
  const csv = toCsv(rows);
  const range = options.from || options.to ? ` (${options.from ?? 'start'} to ${options.to ?? 'today'})` : '';
  const svg = statsChartSvg(perDay(rows), { title: `lineup: images and cost per day${range}` });
  const csvFile = options.csvFile ?? defaultStatsFile(root);
  const svgFile = chartFileFor(csvFile);
  // Atomic: a reader (or a killed run) sees the old file or the new one, never half of either.
  await writeFileAtomic(csvFile, csv);
  await writeFileAtomic(svgFile, svg);
  return { rows, csv, svg, csvFile, svgFile };
}
