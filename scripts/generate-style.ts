#!/usr/bin/env -S npx tsx
// Terminal face of style-sheet generation: argument parsing only (src/cli/generate-style.ts decides).
import { Command } from 'commander';
import { generateStyleCommand } from '../src/cli/generate-style.ts';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';

const program = new Command('generate-style')
  .description(
    "Generate a case's style sheet (cases/<id>/style.png, or with --shared styles/<art-style>.png) with Gemini; every image of the case is then made with it as a reference.",
  )
  .requiredOption('--case-id <id>', 'the case, e.g. case-2025-01-19')
  .option('--shared', "write the shared sheet named by the case's artStyle", false)
  .option('--force', 'replace an existing sheet (the case images become stale)', false)
  .option('--config <file>', 'configuration file (default lineup.config.json)')
  .option('--api-base-url <url>', 'Gemini API base URL (default: GOOGLE_GEMINI_BASE_URL or Google)')
  .addHelpText(
    'after',
    '\nExit codes: 0 written, 1 Gemini failed (nothing written), 2 bad input or the sheet exists.',
  )
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
await runCommand(() => generateStyleCommand(process.cwd(), program.opts(), processOutput));
