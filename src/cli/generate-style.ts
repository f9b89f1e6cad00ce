import { createStyleSheet, StyleSheetError } from '../case-gen/create-style.ts';
import { loadConfig } from '../config/load-config.ts';
import type { ConfigInput } from '../config/schema.ts';
import { ExitCode, InputError } from '../errors.ts';
import { displayPath } from '../util/read-json.ts';
import type { Output } from './terminal-reporter.ts';

export interface GenerateStyleArgs {
  caseId?: string;
  shared?: boolean;
  force?: boolean;
  config?: string;
  apiBaseUrl?: string;
}

/** Writes a case's style sheet. 0 written, 1 Gemini failed (nothing written), 2 bad input. */
export async function generateStyleCommand(
  root: string,
  args: GenerateStyleArgs,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (!args.caseId) throw new InputError('--case-id is required', { field: '--case-id' });
  const overrides: ConfigInput = args.apiBaseUrl ? { apiBaseUrl: args.apiBaseUrl } : {};
  const config = await loadConfig(root, args.config, overrides);
  try {
    const result = await createStyleSheet({
      root,
      caseId: args.caseId,
      config,
      apiKey: env.GEMINI_API_KEY?.trim() || undefined,
      shared: args.shared ?? false,
      force: args.force ?? false,
    });
    output.out(
      `${result.replaced ? 'Replaced' : 'Wrote'} ${displayPath(result.file)}. It is sent with every image of the case; the scan lists images made with another sheet as stale.`,
    );
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof StyleSheetError)) throw error;
    output.err(error.message);
    return ExitCode.someFailed;
  }
}
