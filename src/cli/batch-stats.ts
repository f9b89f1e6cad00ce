import { resolve } from 'node:path';
import { ExitCode } from '../errors.ts';
import { checkRange, formatCost, toTable, totals, writeBatchStats } from '../stats/index.ts';
import { displayPath } from '../util/read-json.ts';
import type { Output } from './terminal-reporter.ts';

export interface BatchStatsArgs {
  from?: string;
  to?: string;
  export?: string;
  json?: boolean;
}

/** The batch-stats command (README, "Other commands"): a table on stdout, the CSV and the SVG chart on disk. */
export async function batchStats(root: string, args: BatchStatsArgs, output: Output): Promise<number> {
  // Checked before anything is read or written, so bad dates leave no half-written files.
  checkRange(args);
  const result = await writeBatchStats(root, {
    from: args.from,
    to: args.to,
    // --export is a path as the user typed it, so relative to the working directory.
    ...(args.export ? { csvFile: resolve(args.export) } : {}),
  });
  if (args.json) {
    output.out(
      JSON.stringify(
        { rows: result.rows, totals: totals(result.rows), csvFile: result.csvFile, svgFile: result.svgFile },
        null,
        2,
      ),
    );
    return ExitCode.ok;
  }
  if (result.rows.length === 0) {
    output.out('No batch reports in reports/errors/ for this range.');
  } else {
    output.out(toTable(result.rows));
    const t = totals(result.rows);
    const rate = t.total ? ((100 * t.successful) / t.total).toFixed(1) : '0.0';
    output.out(`\nSuccess rate ${rate}%, total cost $${formatCost(t.costUsd)}`);
  }
  output.out(`Wrote ${displayPath(result.csvFile)} and ${displayPath(result.svgFile)}`);
  return ExitCode.ok;
}
