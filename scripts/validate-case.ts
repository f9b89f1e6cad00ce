#!/usr/bin/env -S npx tsx
// Terminal face of the case checks: argument parsing only (src/cli/validate-case.ts decides).
import { Command } from 'commander';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';
import { validateCaseCommand } from '../src/cli/validate-case.ts';

const program = new Command('validate-case')
  .description(
    'Check a case: case.json schema, prompts, manifest against the files (sha256, size), orphan entries, stray files.',
  )
  .requiredOption('--case-id <id>', 'the case to check, e.g. case-2025-01-19')
  .option('--json', 'print the problems as JSON', false)
  .addHelpText(
    'after',
    '\nExit codes: 0 valid, 1 problems found (table), 2 bad input (unknown or invalid case id).',
  )
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
await runCommand(() => validateCaseCommand(process.cwd(), program.opts(), processOutput));
