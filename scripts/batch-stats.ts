#!/usr/bin/env -S npx tsx
// Terminal face of the batch statistics: argument parsing only (src/cli/batch-stats.ts decides).
import { Command } from 'commander';
import { batchStats } from '../src/cli/batch-stats.ts';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';

const program = new Command('batch-stats')
  .description('Aggregate the batch reports (reports/errors/*.json) into a CSV, a table and an SVG chart.')
  .option('--from <date>', 'first day to include, YYYY-MM-DD (the date in the batch id)')
  .option('--to <date>', 'last day to include, YYYY-MM-DD')
  .option(
    '--export <file>',
    'where to write the CSV (default reports/stats.csv); the chart goes beside it as .svg',
  )
  .option('--json', 'print the rows and totals as JSON instead of a table', false)
  .addHelpText('after', '\nExit codes: 0 done, 2 bad input (nothing written).')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
const opts = program.opts();
await runCommand(() => batchStats(process.cwd(), opts, processOutput));
