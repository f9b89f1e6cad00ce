import { ExitCode } from '../errors.ts';
import { prepareRun } from '../run/prepare-run.ts';
import { roundUsd } from '../util/money.ts';
import { runSummaryLines } from './run-summary.ts';
import { type Output, terminalEvents } from './terminal-reporter.ts';

export interface BatchGenerateArgs {
  caseId?: string;
  type?: string;
  batchFile?: string;
  resume?: string;
  force?: boolean;
  scanAll?: boolean;
  fix?: boolean;
  estimateOnly?: boolean;
  maxCost?: number;
  provider?: string;
  model?: string;
  config?: string;
  json?: boolean;
  apiBaseUrl?: string;
  /** sync (default) or batch: submit to the Gemini Batch API at half price, collect later. */
  mode?: string;
}

/** The batch command (README, "scripts/batch-generate-images.ts"). Returns the exit code; never prints the API key. */
export async function batchGenerate(
  root: string,
  args: BatchGenerateArgs,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<number> {
  const setup = await prepareRun(root, args, {
    apiKey: env.GEMINI_API_KEY?.trim() || undefined,
    allowFallback: true,
    warn: output.err,
  });
  const { provider, config, costPerImage } = setup;
  const run = await setup.choose(args);

  if (run.estimateOnly) {
    const plan = await run.estimate();
    const estimate = {
      images: plan.items.length,
      skipped: plan.skipped.length,
      provider: provider.name,
      model: provider.model,
      mode: setup.mode,
      costPerImage,
      estimatedCostUsd: roundUsd(plan.estimatedCostUsd),
      maxCost: config.cost.maxCost,
      images_list: plan.items.map((i) => i.key),
    };
    if (args.json) output.out(JSON.stringify(estimate, null, 2));
    else {
      output.out(
        `${estimate.images} image(s) to generate (${estimate.skipped} already present) with ${provider.name}/${provider.model}: about $${estimate.estimatedCostUsd.toFixed(2)} (cap $${config.cost.maxCost.toFixed(2)})`,
      );
      for (const key of estimate.images_list) output.out(`  ${key}`);
    }
    return ExitCode.ok;
  }

  const result = await run.run({ events: terminalEvents(output, args.json ?? false), signal });
  if (result.batchId === null) {
    const message = `Nothing to generate: ${result.skipped} image(s) already present (use --force to regenerate).`;
    if (args.json)
      output.out(JSON.stringify({ batchId: null, total: 0, skipped: result.skipped, exitCode: 0 }));
    else output.out(message);
    return ExitCode.ok;
  }
  if (args.json) {
    output.out(JSON.stringify(result, null, 2));
  } else {
    for (const line of runSummaryLines(result)) output.out(line);
  }
  return result.exitCode;
}
