import { chooseBatchClient, withoutInFlight } from '../batch/batch-mode/index.ts';
import type { BatchEvents } from '../batch/events.ts';
import type { PlanSource } from '../batch/plan.ts';
import type { LimiterShare } from '../batch/sync-run.ts';
import type { BatchSummary } from '../batch/types.ts';
import { loadConfig } from '../config/load-config.ts';
import type { Config, ConfigInput } from '../config/schema.ts';
import { InputError } from '../errors.ts';
import type { BatchClient } from '../providers/gemini-batch.ts';
import type { ImageProvider } from '../providers/types.ts';
import { createQualityCheck } from '../quality/index.ts';
import { chooseProvider, type EmptyRun, type PlannedBatch, planBatch, runBatch } from './run-batch.ts';
import { chooseSource, type SourceChoice } from './source.ts';

/** The run's settings as a face was given them (flags or inputs, not yet checked). */
export interface RunOptions {
  provider?: string | undefined;
  model?: string | undefined;
  apiBaseUrl?: string | undefined;
  maxCost?: number | undefined;
  /** A config file other than the root's lineup.config.json (`--config`). */
  config?: string | undefined;
  /** sync (default) or batch: submit to the Gemini Batch API at half price, collect later. */
  mode?: string | undefined;
}

/** What differs between the faces: where the key comes from, fallback, warnings and names. */
export interface RunFace {
  apiKey: string | undefined;
  /** The terminal falls back to the placeholder provider without a key; the actions never do. */
  allowFallback: boolean;
  warn: (message: string) => void;
  /** Spells an option the way the face shows it (`--mode` or `mode`); the terminal's by default. */
  flag?: (name: string) => string;
  /** Where the key is given: GEMINI_API_KEY (default) or the action's gemini-api-key. */
  keyName?: string;
}

/** What to generate: the source choice plus `force` and `estimateOnly`. */
interface RunChoice extends SourceChoice {
  force?: boolean | undefined;
  estimateOnly?: boolean | undefined;
}

/** Per-run hooks the face supplies (its presentation and CI details). */
interface RunExtra {
  events?: BatchEvents;
  signal?: AbortSignal | undefined;
  /** Gives up on requests in flight (a cancelled CI job). */
  abandon?: AbortSignal | undefined;
  onBatchId?: (batchId: string) => void;
  batchIdScope?: string | undefined;
  /** One limiter for the batches of a group of cases run one after another. */
  limiterShare?: LimiterShare;
}

export interface ChosenRun {
  /** The new plan's images (in-flight ones left out), or undefined for a resume. */
  source: PlanSource | undefined;
  force: boolean;
  /** Only an estimate was asked for (estimate-only, or scan-all without fix). */
  estimateOnly: boolean;
  /** Pre-flight of the plan with its price; a resume has none (InputError). */
  estimate(): Promise<PlannedBatch>;
  run(extra: RunExtra): Promise<BatchSummary | EmptyRun>;
}

export interface PreparedRun {
  config: Config;
  provider: ImageProvider;
  /** The Batch API whenever the gemini provider is used (a resume of a batch-mode batch needs it). */
  batchClient: BatchClient | undefined;
  mode: 'sync' | 'batch';
  costPerImage: number;
  explicitMaxCost: boolean;
  /**
   * Second step, after whatever the face does once the provider is known (the action collects
   * earlier Batch API jobs first): where the images come from, without those already waiting in
   * a Batch API job.
   */
  choose(choice: RunChoice): Promise<ChosenRun>;
}

const PROVIDERS = ['gemini', 'placeholder'] as const;
const MODES = ['sync', 'batch'] as const;

/**
 * The one set-up of a generating run, shared by every face: options checked, config loaded with
 * the face's overrides, provider and Batch API client chosen, price per image fixed. `choose`
 * then picks the source (chooseSource) and leaves out images in flight (withoutInFlight).
 */
export async function prepareRun(root: string, options: RunOptions, face: RunFace): Promise<PreparedRun> {
  const flag = face.flag ?? ((name: string) => `--${name}`);
  const { provider: wanted, mode: givenMode } = options;
  if (wanted !== undefined && !PROVIDERS.includes(wanted as 'gemini')) {
    throw new InputError(`${JSON.stringify(wanted)} is not a provider; use gemini or placeholder`, {
      field: flag('provider'),
    });
  }
  if (givenMode !== undefined && !MODES.includes(givenMode as 'sync')) {
    throw new InputError(`${JSON.stringify(givenMode)} is not a mode; use sync or batch`, {
      field: flag('mode'),
    });
  }
  const mode = (givenMode ?? 'sync') as 'sync' | 'batch';
  const overrides: ConfigInput = {
    ...(options.model ? { model: options.model } : {}),
    ...(wanted ? { provider: wanted as 'gemini' | 'placeholder' } : {}),
    ...(options.apiBaseUrl ? { apiBaseUrl: options.apiBaseUrl } : {}),
    ...(options.maxCost !== undefined ? { cost: { maxCost: options.maxCost } } : {}),
  };
  const config = await loadConfig(root, options.config, overrides, {
    apiBaseUrl: flag('api-base-url'),
    'cost.maxCost': flag('max-cost'),
    model: flag('model'),
    provider: flag('provider'),
  });
  const { apiKey } = face;
  const provider = chooseProvider(config, {
    ...(apiKey ? { apiKey } : {}),
    allowFallback: face.allowFallback,
    warn: face.warn,
  });
  const batchClient = provider.name === 'gemini' ? chooseBatchClient(config, apiKey) : undefined;
  if (mode === 'batch' && !batchClient) {
    const asked = flag('mode').startsWith('-') ? `${flag('mode')} batch` : `${flag('mode')}: batch`;
    throw new InputError(`${asked} needs the gemini provider and ${face.keyName ?? 'GEMINI_API_KEY'}`, {
      field: flag('mode'),
    });
  }
  const costPerImage = mode === 'batch' && batchClient ? batchClient.costPerImage : provider.costPerImage;
  const explicitMaxCost = options.maxCost !== undefined;
  const setup = { config, provider, batchClient, mode, costPerImage, explicitMaxCost };

  const choose = async (choice: RunChoice): Promise<ChosenRun> => {
    const chosen = await chooseSource(root, choice, flag);
    const source = chosen.source && (await withoutInFlight(root, chosen.source, face.warn));
    const force = (choice.force ?? false) || chosen.force;
    return {
      source,
      force,
      estimateOnly: Boolean(choice.estimateOnly || (choice.scanAll && !choice.fix)),
      estimate: async () => {
        if (!source) {
          throw new InputError(`${flag('estimate-only')} needs a new plan, not ${flag('resume')}`, {
            field: flag('estimate-only'),
          });
        }
        return planBatch({ root, config, source, force, provider, explicitMaxCost, costPerImage });
      },
      run: (extra) =>
        runBatch({
          root,
          config,
          provider,
          ...(source ? { source } : {}),
          ...(choice.resume ? { resume: choice.resume } : {}),
          force,
          explicitMaxCost,
          mode,
          batchClient,
          check: createQualityCheck(root),
          events: extra.events,
          signal: extra.signal,
          abandon: extra.abandon,
          onBatchId: extra.onBatchId,
          ...(extra.batchIdScope ? { batchIdScope: extra.batchIdScope } : {}),
          limiterShare: extra.limiterShare,
        }),
    };
  };
  return { ...setup, choose };
}
