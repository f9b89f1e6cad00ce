#!/usr/bin/env -S npx tsx
// Terminal face of the batch engine: argument parsing only (src/cli/batch-generate.ts decides).
import { Command, InvalidArgumentError } from 'commander';
import { batchGenerate } from '../src/cli/batch-generate.ts';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';
import { DEFAULT_MODEL } from '../src/config/schema.ts';

function usd(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected an amount in USD, e.g. 2.50');
  return n;
}

const program = new Command('batch-generate-images')
  .description(
    'Generate the suspect and scene images of one or more cases, under the rate limits, resumably.',
  )
  .option('--case-id <id>', 'the case to generate, e.g. case-2025-01-19')
  .option('--type <type>', 'all | suspects | scene (with --case-id)', 'all')
  .option('--batch-file <file>', "a batch file in the seed's format: images[] and options")
  .option('--resume <batch-id>', 'continue an interrupted, failed or stopped batch')
  .option('--force', 'regenerate images that already exist', false)
  .option('--scan-all', 'every missing image of every case (lists them; add --fix to generate)', false)
  .option(
    '--fix',
    'with --scan-all or --case-id: generate what the scan finds (missing, broken, placeholder, stale)',
    false,
  )
  .option('--estimate-only', 'print the image count and cost, call nothing', false)
  .option('--max-cost <usd>', 'stop before the request that would pass this many USD (exit 3)', usd)
  .option('--provider <name>', 'gemini | placeholder (default: gemini when GEMINI_API_KEY is set)')
  .option('--model <model>', `image model (default ${DEFAULT_MODEL})`)
  .option('--config <file>', 'configuration file (default lineup.config.json)')
  .option('--api-base-url <url>', 'Gemini API base URL (default: GOOGLE_GEMINI_BASE_URL or Google)')
  .option(
    '--mode <mode>',
    'sync | batch: batch submits to the Gemini Batch API at half price; --resume collects (default sync)',
    'sync',
  )
  .option('--json', 'print a machine-readable summary instead of progress', false)
  .addHelpText(
    'after',
    '\nExit codes: 0 all done, 1 some images failed, 2 bad input (nothing written), 3 stopped early (resume later).',
  )
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
const opts = program.opts();
await runCommand((signal) => batchGenerate(process.cwd(), opts, processOutput, process.env, signal));
