import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { type FakeGemini, startFakeGemini } from './fake-gemini.ts';
import { type FakeGeminiBatch, startFakeGeminiWithBatch } from './fake-gemini-batch.ts';
import { makeTempRoot } from './temp-root.ts';

interface World {
  fake: FakeGemini;
  root: string;
}

/** Before each test of the file (or describe): a fresh fake Gemini and temporary root, handed to `set`; closed after it. */
export function useFakeGemini(set: (world: World) => void): void {
  let fake: FakeGemini | undefined;
  beforeEach(async () => {
    fake = await startFakeGemini();
    set({ fake, root: await makeTempRoot() });
  });
  afterEach(async () => {
    await fake?.close();
  });
}

/**
 * The same with the Batch API part of the fake; `config`, when given, is written as the root's
 * lineup.config.json (the terminal commands read it).
 */
export function useFakeGeminiWithBatch(
  set: (world: World & { batch: FakeGeminiBatch }) => void,
  config?: unknown,
): void {
  let fake: FakeGemini | undefined;
  beforeEach(async () => {
    const started = await startFakeGeminiWithBatch();
    fake = started.fake;
    const root = await makeTempRoot();
    if (config !== undefined) await writeFile(join(root, 'lineup.config.json'), JSON.stringify(config));
    set({ ...started, root });
  });
  afterEach(async () => {
    await fake?.close();
  });
}

/** A lineup.config.json for the terminal commands that takes no pause between images. */
export const NO_DELAY_CONFIG = { timing: { delayBetweenImages: 0 } };

/**
 * useFakeGeminiWithBatch as one object instead of a setter: its fields are the current test's
 * fake, Batch API part and root (read them inside tests, not at the file's top level).
 */
export function useBatchWorld(config?: unknown): World & { batch: FakeGeminiBatch } {
  const world = {} as World & { batch: FakeGeminiBatch };
  useFakeGeminiWithBatch((started) => Object.assign(world, started), config);
  return world;
}
