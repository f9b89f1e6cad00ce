import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import {
  type ActionRun,
  addCaseCopies,
  allFiles,
  buildActions,
  leakedLines,
  makeLineupRemote,
  repoText,
  startWorld,
} from './action-env.ts';
import { type FakeArtifactService, startFakeArtifactService, unzip } from './fake-artifact.ts';
import { type FakeGemini, startFakeGemini } from './fake-gemini.ts';
import { type FakeGeminiBatch, startFakeGeminiWithBatch } from './fake-gemini-batch.ts';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';
import type { GitRemote } from './git-remote.ts';

/**
 * The set-up the action tests share, as vitest hooks: the bundles built from the current source
 * beside the fakes a file needs, everything closed at the end. Kept apart from action-env.ts,
 * which the benches import outside vitest.
 */

export interface WorldOptions {
  token: string;
  /** The fake Gemini with its Batch API routes. */
  batch?: boolean;
  /** The fake artifact service. */
  artifacts?: boolean;
  /** Copies of the first sample case under these ids, on the remote's main. */
  caseCopies?: readonly string[];
}

/** What useActionWorld started: `batch` and `artifacts` only when asked for. */
export type ActionWorld<O extends WorldOptions> = {
  gemini: FakeGemini;
  github: FakeGitHub;
  remote: GitRemote;
  /** How long the build of the bundles took. */
  buildMs: number;
} & (O['batch'] extends true ? { batch: FakeGeminiBatch } : unknown) &
  (O['artifacts'] extends true ? { artifacts: FakeArtifactService } : unknown);

/**
 * One world for the whole file: before all tests, the bundles, a fake Gemini (with its Batch API
 * routes when `batch`), a fake GitHub taking `token`, the artifact service (`artifacts`) and a
 * lineup remote, handed to `take`; after all, closed.
 */
export function useActionWorld<O extends WorldOptions>(
  options: O,
  take: (world: ActionWorld<O>) => void,
): void {
  let fakes: Awaited<ReturnType<typeof startFakes>> | undefined;
  beforeAll(async () => {
    const [buildMs, started] = await Promise.all([buildActions(), startFakes(options)]);
    fakes = started;
    take({ ...started, buildMs } as ActionWorld<O>);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([fakes?.gemini.close(), fakes?.github.close(), fakes?.artifacts?.close()]);
    await fakes?.remote.cleanup();
  });
}

async function startFakes(options: WorldOptions) {
  const { fake: gemini, batch } = options.batch
    ? await startFakeGeminiWithBatch()
    : { fake: await startFakeGemini(), batch: undefined };
  const github = await startFakeGitHub({ token: options.token });
  const artifacts = options.artifacts ? await startFakeArtifactService() : undefined;
  const remote = await makeLineupRemote();
  if (options.caseCopies?.length) await addCaseCopies(remote, options.caseCopies);
  return { gemini, batch, github, artifacts, remote };
}

/**
 * A world per test (startWorld: its own remote and fake GitHub) beside one fake Gemini for the
 * file: before all tests, the bundles and the Gemini (handed to `take`); after each test, its world
 * is ended and the Gemini's handler reset; after all, the Gemini closed.
 */
export function useFreshWorlds(
  token: string,
  take: (gemini: FakeGemini) => void,
): (caseCopies?: readonly string[]) => Promise<{ remote: GitRemote; github: FakeGitHub }> {
  const cleanups: Array<() => Promise<void>> = [];
  let gemini: FakeGemini | undefined;
  beforeAll(async () => {
    await buildActions();
    gemini = await startFakeGemini();
    take(gemini);
  }, 60_000);
  afterEach(async () => {
    gemini?.setHandler(undefined);
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await gemini?.close();
  });
  return (caseCopies = []) => startWorld(token, cleanups, caseCopies);
}

/**
 * `secret` is nowhere a run could leave it: the runs' output (but the one `::add-mask::` line) and
 * runner files, every file and object of the repositories in `dirs`, what the fake GitHub was sent
 * and holds (requests, pull request bodies, comments), and the uploaded artifacts.
 */
export async function expectSecretNowhere(
  secret: string,
  where: {
    runs: readonly ActionRun[];
    dirs: readonly string[];
    github: FakeGitHub;
    artifacts?: FakeArtifactService;
  },
): Promise<void> {
  for (const run of where.runs) {
    expect(leakedLines(run.stdout, secret)).toEqual([]);
    expect(run.stderr).not.toContain(secret);
    for (const text of Object.values(run.files)) expect(text).not.toContain(secret);
  }
  for (const dir of where.dirs) {
    for (const [path, bytes] of await allFiles(dir)) expect(bytes.includes(secret), path).toBe(false);
    expect(await repoText(dir)).not.toContain(secret);
  }
  for (const r of where.github.requests) expect(r.rawBody).not.toContain(secret);
  for (const p of where.github.pulls) expect(p.body).not.toContain(secret);
  for (const c of where.github.issueComments) expect(c.body).not.toContain(secret);
  for (const a of where.artifacts?.artifacts ?? []) {
    expect(a.zip.includes(secret)).toBe(false);
    for (const e of unzip(a.zip)) expect(e.data.includes(secret), e.name).toBe(false);
  }
}
