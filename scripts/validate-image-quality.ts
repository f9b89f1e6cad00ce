#!/usr/bin/env -S npx tsx
// Terminal face of the image quality checks: argument parsing only (src/cli/validate-image-quality.ts decides).
import { Command } from 'commander';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';
import { validateImageQuality } from '../src/cli/validate-image-quality.ts';

const program = new Command('validate-image-quality')
  .description(
    'Check every image of a case: decodes, asked aspect ratio, not blank, no near-duplicates, sane file size; with GEMINI_API_KEY, the vision judge too (qa.vision).',
  )
  .requiredOption('--case-id <id>', 'the case to check, e.g. case-2025-01-19')
  .option('--json', 'print the report as JSON', false)
  .addHelpText('after', '\nExit codes: 0 all images pass, 1 some checks failed (table), 2 bad input.')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
await runCommand(() =>
  validateImageQuality(process.cwd(), program.opts(), processOutput, { apiKey: process.env.GEMINI_API_KEY }),
);
