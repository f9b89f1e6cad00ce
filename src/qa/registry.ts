import type { Config } from '../config/schema.ts';
import type { ImageProvider } from '../providers/types.ts';
import type { Clock } from '../util/clock.ts';
import { createJudgeClient, type JudgeClient } from './judge-client.ts';
import { VisionReview } from './vision-review.ts';

export type VisionFactory = (root: string, clock: Clock) => VisionReview;

/*
 * The judge is built where the provider is chosen (the one place that holds the key and the
 * configuration) and travels with the provider to every face that runs a batch, so none of them
 * has to be taught about it.
 */
const factories = new WeakMap<ImageProvider, VisionFactory>();

/** The policy in force: `qa.vision` when set, else flag with a key and off without. */
export function visionPolicy(config: Config, apiKey: string | undefined): Config['qa']['vision'] {
  return config.qa.vision ?? (apiKey ? 'flag' : 'off');
}

/** The judge client the configuration names (`qa.model`, `qa.timeout`, the API's version and base URL). */
export function judgeClientFor(config: Config, apiKey: string): JudgeClient {
  return createJudgeClient({
    apiKey,
    model: config.qa.model,
    apiVersion: config.apiVersion,
    baseUrl: config.apiBaseUrl,
    timeoutMs: config.qa.timeout,
  });
}

/** Builds the judge for a gemini provider when the policy asks for one; placeholders are never judged. */
export function attachVision(provider: ImageProvider, config: Config, apiKey: string | undefined): void {
  const policy = visionPolicy(config, apiKey);
  if (provider.name !== 'gemini' || !apiKey || policy === 'off' || policy === undefined) return;
  const client = judgeClientFor(config, apiKey);
  factories.set(provider, (root, clock) => new VisionReview({ root, config, client, policy, clock }));
}

export function visionFactoryOf(provider: ImageProvider): VisionFactory | undefined {
  return factories.get(provider);
}
