#!/usr/bin/env -S npx tsx
// Terminal face of case generation: argument parsing only (src/cli/generate-case.ts decides).
import { Command } from 'commander';
import { DEFAULT_CASE_MODEL } from '../src/case-gen/gemini.ts';
import { generateCaseCommand } from '../src/cli/generate-case.ts';
import { runCommand } from '../src/cli/run-command.ts';
import { processOutput } from '../src/cli/terminal-reporter.ts';

const program = new Command('generate-case')
  .description(
    'Write a new cases/<id>/case.json: asked of Gemini when GEMINI_API_KEY is set, else made by a deterministic offline generator.',
  )
  .option('--case-id <id>', 'the case to create, e.g. case-2025-01-19 (default: case-<--date>, or today)')
  .option('--date <date>', 'the case date, YYYY-MM-DD (must match --case-id when both are given)')
  .option('--force', 'replace an existing case.json', false)
  .option('--offline', 'use the offline generator even when GEMINI_API_KEY is set', false)
  .option('--model <model>', `Gemini text model (default ${DEFAULT_CASE_MODEL})`)
  .option('--config <file>', 'configuration file (default lineup.config.json)')
  .option('--api-base-url <url>', 'Gemini API base URL (default: GOOGLE_GEMINI_BASE_URL or Google)')
  .option('--json', 'print a machine-readable result', false)
  .option(
    '--style',
    "also generate the case's style sheet (cases/<id>/style.png; needs GEMINI_API_KEY)",
    false,
  )
  .addHelpText(
    'after',
    '\nExit codes: 0 written, 1 Gemini failed or gave an invalid case (nothing written), 2 bad input or the case exists without --force.',
  )
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program.parse();
const opts = program.opts();
await runCommand((signal) => generateCaseCommand(process.cwd(), opts, processOutput, process.env, signal));
