import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlanSource } from '../../src/batch/plan.ts';
import { readProgress } from '../../src/batch/progress.ts';
import type { BatchSummary } from '../../src/batch/types.ts';
import {
  batchCostPerImage,
  type Config,
  type ConfigInput,
  configSchema,
  costPerImage,
} from '../../src/config/schema.ts';
import { createGeminiProvider } from '../../src/providers/gemini.ts';
import { createGeminiBatchClient } from '../../src/providers/gemini-batch.ts';
import { createJudgeClient } from '../../src/qa/judge-client.ts';
import { VisionReview } from '../../src/qa/vision-review.ts';
import type { ImageCheck } from '../../src/quality/index.ts';
import { runBatch } from '../../src/run/run-batch.ts';
import { type Clock, VirtualClock } from '../../src/util/clock.ts';
import type { FakeGemini } from './fake-gemini.ts';

export const TEST_KEY = 'AIzaTEST-not-a-real-key-0123456789';

/** Config for engine tests: the default numbers (README, "Configuration"), with the real request timeout cut short. */
export function testConfig(over: ConfigInput = {}) {
  return configSchema.parse({ ...over, timing: { requestTimeout: 2000, ...over.timing } });
}

export interface EngineRun {
  summary: BatchSummary;
  clock: VirtualClock;
  lines: string[];
}

/** Runs a batch through the real @google/genai client against the fake, on a virtual clock. */
export async function runAgainstFake(
  root: string,
  fake: FakeGemini,
  options: {
    source?: PlanSource;
    resume?: string;
    config?: ConfigInput;
    force?: boolean;
    explicitMaxCost?: boolean;
    clock?: VirtualClock;
    onStart?: () => void;
    check?: ImageCheck;
    /** Run the vision judge (against the same fake) with this policy. */
    vision?: 'flag' | 'regenerate';
  },
): Promise<EngineRun> {
  const config = testConfig(options.config);
  const clock = options.clock ?? new VirtualClock();
  const provider = createGeminiProvider({
    apiKey: TEST_KEY,
    model: config.model,
    apiVersion: config.apiVersion,
    baseUrl: fake.url,
    timeoutMs: config.timing.requestTimeout,
    costPerImage: costPerImage(config, config.model),
    imageSize: config.imageSize,
  });
  const lines: string[] = [];
  const result = await runBatch({
    root,
    config,
    provider,
    clock,
    ...(options.source ? { source: options.source } : {}),
    ...(options.resume ? { resume: options.resume } : {}),
    force: options.force ?? false,
    explicitMaxCost: options.explicitMaxCost ?? false,
    ...(options.check ? { check: options.check } : {}),
    ...(options.vision ? { vision: fakeVision(root, fake.url, config, options.vision, clock) } : {}),
    events: { log: (line) => lines.push(line), ...(options.onStart ? { imageStart: options.onStart } : {}) },
  });
  if (result.batchId === null) throw new Error('nothing was planned');
  return { summary: result, clock, lines };
}

/** The vision judge as attachVision builds it, pointed at the fake. */
export function fakeVision(
  root: string,
  baseUrl: string,
  config: Config,
  policy: 'flag' | 'regenerate',
  clock: Clock,
): VisionReview {
  const client = createJudgeClient({
    apiKey: TEST_KEY,
    model: config.qa.model,
    apiVersion: config.apiVersion,
    baseUrl,
    timeoutMs: config.qa.timeout,
  });
  return new VisionReview({ root, config, client, policy, clock });
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

export function progressOf(root: string, batchId: string) {
  return readProgress(root, batchId);
}

export const caseAll = (caseId = 'case-2025-01-19'): PlanSource => ({ kind: 'case', caseId, type: 'all' });

export function imagesPath(root: string, caseId = 'case-2025-01-19'): string {
  return join(root, 'cases', caseId, 'images');
}

/** The synchronous provider and the Batch API client, both pointed at a fake, as the CLI builds them. */
export function geminiClients(baseUrl: string, over: ConfigInput = {}) {
  const config = testConfig(over);
  const common = {
    apiKey: TEST_KEY,
    model: config.model,
    apiVersion: config.apiVersion,
    baseUrl,
    timeoutMs: config.timing.requestTimeout,
    imageSize: config.imageSize,
  };
  return {
    config,
    provider: createGeminiProvider({ ...common, costPerImage: costPerImage(config, config.model) }),
    batchClient: createGeminiBatchClient({
      ...common,
      costPerImage: batchCostPerImage(config, config.model),
    }),
  };
}
