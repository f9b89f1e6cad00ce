import { chooseBatchClient, withoutInFlight } from '../batch/batch-mode/index.ts';
import { chooseProvider, planBatch, runBatch } from '../batch/run-batch.ts';
import { chooseSource } from '../batch/source.ts';
import { loadConfig } from '../config/load-config.ts';
import type { ConfigInput } from '../config/schema.ts';
import { ExitCode, InputError } from '../errors.ts';
import { createQualityCheck } from '../quality/index.ts';
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

/** The seed's batch command. Returns the exit code; never prints the API key. */
export async function batchGenerate(
  root: string,
  args: BatchGenerateArgs,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<number> {
  if (args.provider !== undefined && args.provider !== 'gemini' && args.provider !== 'placeholder') {
    throw new InputError(`${JSON.stringify(args.provider)} is not a provider; use gemini or placeholder`, {
      field: '--provider',
    });
  }
  const overrides: ConfigInput = {
    ...(args.model ? { model: args.model } : {}),
    ...(args.provider ? { provider: args.provider as 'gemini' | 'placeholder' } : {}),
    ...(args.apiBaseUrl ? { apiBaseUrl: args.apiBaseUrl } : {}),
    ...(args.maxCost !== undefined ? { cost: { maxCost: args.maxCost } } : {}),
  };
  if (args.mode !== undefined && args.mode !== 'sync' && args.mode !== 'batch') {
    throw new InputError(`${JSON.stringify(args.mode)} is not a mode; use sync or batch`, {
      field: '--mode',
    });
  }
  const mode = (args.mode ?? 'sync') as 'sync' | 'batch';
  const config = await loadConfig(root, args.config, overrides);
  const chosen = await chooseSource(root, args);
  const source = chosen.source && (await withoutInFlight(root, chosen.source, output.err));
  const scanForce = chosen.force;
  const apiKey = env.GEMINI_API_KEY?.trim() || undefined;
  const provider = chooseProvider(config, {
    ...(apiKey ? { apiKey } : {}),
    allowFallback: true,
    warn: output.err,
  });
  const explicitMaxCost = args.maxCost !== undefined;
  const force = (args.force ?? false) || scanForce;
  // Built whenever the API is used: a --resume of a batch-mode batch needs it without --mode.
  const batchClient = provider.name === 'gemini' ? chooseBatchClient(config, apiKey) : undefined;
  if (mode === 'batch' && !batchClient) {
    throw new InputError('--mode batch needs the gemini provider and GEMINI_API_KEY', { field: '--mode' });
  }
  const costPerImage = mode === 'batch' && batchClient ? batchClient.costPerImage : provider.costPerImage;

  if (args.estimateOnly || (args.scanAll && !args.fix)) {
    if (!source)
      throw new InputError('--estimate-only needs a new plan, not --resume', { field: '--estimate-only' });
    const plan = await planBatch({
      root,
      config,
      source,
      force,
      provider,
      explicitMaxCost,
      costPerImage,
    });
    const estimate = {
      images: plan.items.length,
      skipped: plan.skipped.length,
      provider: provider.name,
      model: provider.model,
      mode,
      costPerImage,
      estimatedCostUsd: Math.round(plan.estimatedCostUsd * 10_000) / 10_000,
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

  const events = terminalEvents(output, args.json ?? false);
  const result = await runBatch({
    root,
    config,
    provider,
    ...(source ? { source } : {}),
    ...(args.resume ? { resume: args.resume } : {}),
    force,
    explicitMaxCost,
    mode,
    batchClient,
    events,
    check: createQualityCheck(root),
    ...(signal ? { signal } : {}),
  });
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
    output.out(
      `${result.batchId}: ${result.successful}/${result.total} done, ${result.failed} failed, ${result.pending} pending, $${result.costUsd.toFixed(3)}` +
        (result.stopReason ? ` (stopped: ${result.stopReason})` : ''),
    );
    output.out(`Report: ${result.errorReportFile}`);
    if (result.status === 'submitted')
      output.out(
        `Submitted to the Gemini Batch API (results usually within 24 h). Collect with: npx tsx scripts/batch-generate-images.ts --resume ${result.batchId}`,
      );
    else if (result.exitCode !== 0)
      output.out(`Resume: npx tsx scripts/batch-generate-images.ts --resume ${result.batchId}`);
  }
  return result.exitCode;
}
