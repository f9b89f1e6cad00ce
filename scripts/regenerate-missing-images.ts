#!/usr/bin/env -S npx tsx
// Terminal face of the scan: argument parsing only (src/cli/scan-command.ts decides).
import { Command, InvalidArgumentError } from 'commander';
import { runCommand } from '../src/cli/run-command.ts';
import { regenerateMissing } from '../src/cli/scan-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';
import { DEFAULT_MODEL } from '../src/config/schema.ts';

function usd(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected an amount in USD, e.g. 2.50');
  return n;
}

const program = new Command('regenerate-missing-images')
  .description(
    'Find images that are missing, empty, corrupt, placeholders, stale or awaiting review; export or generate them.',
  )
  .option('--scan-all', 'scan every case', false)
  .option('--case-id <id>', 'scan one case, e.g. case-2025-01-19')
  .option('--fix', 'generate the missing, broken, placeholder and stale images as one resumable batch', false)
  .option('--export <file>', 'write the images to generate as a batch file (for --batch-file)')
  .option('--check', 'exit 1 when anything needs generating (without --fix)', false)
  .option(
    '--max-cost <usd>',
    'with --fix: stop before the request that would pass this many USD (exit 3)',
    usd,
  )
  .option('--provider <name>', 'gemini | placeholder (default: gemini when GEMINI_API_KEY is set)')
  .option('--model <model>', `image model (default ${DEFAULT_MODEL})`)
  .option('--config <file>', 'configuration file (default lineup.config.json)')
  .option('--api-base-url <url>', 'Gemini API base URL (default: GOOGLE_GEMINI_BASE_URL or Google)')
  .option('--json', 'print the scan (and batch) as JSON', false)
  .addHelpText(
    'after',
    '\nExit codes: 0 scan done (with --fix: all generated), 1 images to generate with --check, a case could not be\n' +
      'scanned, or some images failed with --fix, 2 bad input, 3 --fix stopped early (resume later).',
  )
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
const opts = program.opts();
await runCommand((signal) => regenerateMissing(process.cwd(), opts, processOutput, process.env, signal));
