#!/usr/bin/env -S npx tsx
// Terminal face of the preview gallery: argument parsing only (src/cli/preview.ts decides).
import { Command } from 'commander';
import { previewCommand } from '../src/cli/preview.ts';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';

const program = new Command('preview-images')
  .description(
    'Write a self-contained HTML contact sheet of a case (images inlined) to reports/previews/<case-id>.html.',
  )
  .requiredOption('--case-id <id>', 'the case to preview, e.g. case-2025-01-19')
  .option('--out <file>', 'write the page here instead')
  .option('--json', 'print a machine-readable summary', false)
  .addHelpText('after', '\nExit codes: 0 page written (missing images are shown on it), 2 bad input.')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
const opts = program.opts();
await runCommand(() => previewCommand(process.cwd(), opts, processOutput));
