import { createStyleSheet, StyleSheetError } from '../case-gen/create-style.ts';
import { generateCase } from '../case-gen/index.ts';
import { isRealDate } from '../cases/ids.ts';
import { loadConfig } from '../config/load-config.ts';
import type { ConfigInput } from '../config/schema.ts';
import { ExitCode, InputError } from '../errors.ts';
import { displayPath } from '../util/read-json.ts';
import type { Output } from './terminal-reporter.ts';

export interface GenerateCaseArgs {
  caseId?: string;
  date?: string;
  force?: boolean;
  offline?: boolean;
  model?: string;
  config?: string;
  apiBaseUrl?: string;
  json?: boolean;
  /** Also generate the case's style sheet (cases/<id>/style.png) with Gemini. */
  style?: boolean;
}

/** --case-id wins; --date alone means case-<date>; neither means today's case (UTC). */
function resolveCaseId(args: GenerateCaseArgs, now: Date): string {
  if (args.date !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(args.date) && isRealDate(args.date))) {
    throw new InputError(`${JSON.stringify(args.date)} is not a date; expected YYYY-MM-DD`, {
      field: '--date',
    });
  }
  if (args.caseId !== undefined) {
    if (args.date !== undefined && !args.caseId.startsWith(`case-${args.date}`)) {
      throw new InputError(`${args.date} does not match the date in --case-id ${args.caseId}`, {
        field: '--date',
      });
    }
    return args.caseId;
  }
  return `case-${args.date ?? now.toISOString().slice(0, 10)}`;
}

/** The generate-case command (README, "Other commands"). Returns the exit code; never prints the API key. */
export async function generateCaseCommand(
  root: string,
  args: GenerateCaseArgs,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
  now: Date = new Date(),
): Promise<number> {
  const caseId = resolveCaseId(args, now);
  const overrides: ConfigInput = args.apiBaseUrl ? { apiBaseUrl: args.apiBaseUrl } : {};
  const config = await loadConfig(root, args.config, overrides);
  const apiKey = env.GEMINI_API_KEY?.trim() || undefined;
  // provider "placeholder" in the config means "no API calls", for cases as much as for images.
  const offline = args.offline || config.provider === 'placeholder' || !apiKey;
  if (!apiKey && !args.offline && config.provider !== 'placeholder') {
    output.err(
      'warning: GEMINI_API_KEY is not set; using the offline case generator (deterministic per date).',
    );
  }
  const result = await generateCase(root, {
    caseId,
    force: args.force ?? false,
    ...(offline || !apiKey
      ? {}
      : {
          gemini: {
            apiKey,
            model: args.model,
            apiVersion: config.apiVersion,
            baseUrl: config.apiBaseUrl ?? (env.GOOGLE_GEMINI_BASE_URL?.trim() || undefined),
            timeoutMs: config.timing.requestTimeout,
          },
        }),
    ...(signal ? { signal } : {}),
  });
  if (args.json) {
    output.out(
      JSON.stringify(
        {
          caseId,
          file: displayPath(result.file),
          source: result.source,
          model: result.model,
          replaced: result.replaced,
        },
        null,
        2,
      ),
    );
    return ExitCode.ok;
  }
  const by = result.source === 'gemini' ? `Gemini (${result.model})` : 'the offline generator';
  output.out(
    `${result.replaced ? 'Replaced' : 'Wrote'} ${displayPath(result.file)} by ${by}: "${result.data.title}", ${result.data.suspects.length} suspects (${result.data.suspects.map((s) => s.name).join(', ')}).`,
  );
  if (args.style) {
    try {
      // --offline means no API call at all, for the sheet as much as for the case.
      const style = await createStyleSheet({
        root,
        caseId,
        config,
        apiKey: offline ? undefined : apiKey,
        force: true,
      });
      output.out(`Wrote ${displayPath(style.file)} (the case's style sheet).`);
    } catch (error) {
      if (!(error instanceof StyleSheetError || error instanceof InputError)) throw error;
      // The case is written; a missing sheet only means images are made without one.
      output.err(`warning: no style sheet: ${error.message}`);
    }
  }
  output.out(`Next: npx tsx scripts/batch-generate-images.ts --case-id ${caseId}`);
  return ExitCode.ok;
}
