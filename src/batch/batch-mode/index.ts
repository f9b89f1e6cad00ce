import { batchCostPerImage, type Config } from '../../config/schema.ts';
import {
  type BatchClient,
  type BatchJobInfo,
  createGeminiBatchClient,
  FINAL_JOB_STATES,
} from '../../providers/gemini-batch.ts';
import type { PlanItem } from '../plan.ts';
import type { Progress } from '../progress.ts';
import type { BatchSummary } from '../types.ts';
import { type BatchModeOptions, BatchSession } from './session.ts';
import { submitPending } from './submit.ts';

export { DEFAULT_CHUNK_LIMITS } from './chunk.ts';
export { collectBatch, collectSubmitted, isCollectable } from './collect.ts';
export type { BatchModeOptions } from './session.ts';
export { jobDisplayName } from './submit.ts';

/**
 * The Batch API client for a configuration, or undefined without a key: batch mode has no
 * offline stand-in, and only the steps that need the API ask for it.
 */
export function chooseBatchClient(config: Config, apiKey: string | undefined): BatchClient | undefined {
  if (!apiKey) return undefined;
  return createGeminiBatchClient({
    apiKey,
    model: config.model,
    apiVersion: config.apiVersion,
    baseUrl: config.apiBaseUrl,
    timeoutMs: config.timing.requestTimeout,
    costPerImage: batchCostPerImage(config, config.model),
    imageSize: config.imageSize,
  });
}

/**
 * The client with each finished job fetched once: the cases of a group each collect their share
 * of one Batch API batch, and a finished job's answer (every result inline, up to 20 MB) never
 * changes, so one fetch serves the group. A job not yet finished, or a failed fetch, is asked again.
 */
export function finishedJobsOnce(
  client: BatchClient,
  cache: Map<string, Promise<BatchJobInfo>>,
): BatchClient {
  const get = (name: string): Promise<BatchJobInfo> => {
    const known = cache.get(name);
    if (known) return known;
    const info = client.get(name);
    cache.set(name, info);
    info.then(
      (answer) => {
        if (!FINAL_JOB_STATES.has(answer.state)) cache.delete(name);
      },
      () => cache.delete(name),
    );
    return info;
  };
  return {
    model: client.model,
    costPerImage: client.costPerImage,
    create: (displayName, requests) => client.create(displayName, requests),
    get,
    findByDisplayName: (displayName) => client.findByDisplayName(displayName),
  };
}

/**
 * A freshly claimed batch in `--mode batch`: its pending images go to Gemini as batch jobs and the
 * run ends `submitted` (exit 0). Nothing is generated now; collectBatch picks the results up.
 */
export async function submitBatch(
  options: BatchModeOptions & { progress: Progress; items: PlanItem[] },
): Promise<BatchSummary> {
  const s = new BatchSession(options, options.progress);
  s.say(
    'START',
    `${options.items.length} image(s) to submit to the Gemini Batch API with ${options.progress.model} at $${s.client().costPerImage} per image`,
  );
  const known = new Map(options.items.map((i) => [i.key, i]));
  const stop = await submitPending(s, known);
  if (stop) return s.finish('stopped', stop);
  if (s.jobs.length === 0) {
    // Nothing fitted under the cap: say so the way a synchronous batch stopped by it does.
    return s.finish('stopped', {
      exitCode: 3,
      reason: `the cost cap of $${options.config.cost.maxCost.toFixed(2)} would be passed`,
    });
  }
  return s.finish('submitted');
}
export { withoutInFlight } from './in-flight.ts';
