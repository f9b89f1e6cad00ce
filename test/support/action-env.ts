import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './cli.ts';
import { artifactEnv, type FakeArtifactService } from './fake-artifact.ts';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';
import { type GitRemote, git, makeGitRemote } from './git-remote.ts';

export const OWNER = 'detective';
export const REPO_NAME = 'lineup-game';

/** Bundles the actions from the current source, as `npm run build` does; returns how long it took. */
export function buildActions(): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Async spawn, never spawnSync: the fakes of the calling test live on this event loop.
    const child = spawn(process.execPath, [join(REPO, 'scripts', 'build-actions.mjs')], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Date.now() - started) : reject(new Error(`build failed (${code}): ${err}`)),
    );
  });
}

function distOf(action: string): string {
  return join(REPO, 'actions', action, 'dist', 'index.js');
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Every file the runner hands the action, for the secret scan. */
  files: Record<string, string>;
}

/** Parses GITHUB_OUTPUT: `name<<delimiter\nvalue\ndelimiter` blocks (and plain `name=value` lines). */
function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = '', delimiter = ''] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** A bundled action started as a child process, watched while it runs. */
export interface StartedAction {
  pid: number | undefined;
  /** stdout so far. */
  stdout(): string;
  /** Resolves when stdout has a line matching `pattern` (rejects when the process ends first). */
  waitForOutput(pattern: RegExp): Promise<string>;
  kill(signal: NodeJS.Signals): boolean;
  /** Whether the process has ended. */
  exited(): boolean;
  /** Resolves when the process has ended, with what a runner would collect. */
  done: Promise<ActionRun>;
}

/**
 * Starts a bundled action the way a runner does: `node dist/index.js` with INPUT_* variables (names
 * upper-cased, hyphens kept, which is why there is no shell in between) and the GITHUB_* files.
 */
export async function startAction(
  action: string,
  options: { cwd: string; inputs: Record<string, string>; env: Record<string, string | undefined> },
): Promise<StartedAction> {
  const dir = await mkdtemp(join(tmpdir(), 'lineup-runner-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const f of Object.values(files)) await writeFile(f, '');
  const home = join(dir, 'home');
  await mkdir(home);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    RUNNER_TEMP: dir,
    GITHUB_WORKSPACE: options.cwd,
    GITHUB_ACTIONS: 'true',
    ...files,
  };
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(options.inputs)) env[`INPUT_${k.toUpperCase()}`] = v;

  const child = spawn(process.execPath, [distOf(action)], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const watchers: Array<{ pattern: RegExp; resolve(line: string): void; reject(e: Error): void }> = [];
  const check = () => {
    const lines = stdout.split('\n');
    for (const w of [...watchers]) {
      const line = lines.find((l) => w.pattern.test(l));
      if (line !== undefined) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = (async (): Promise<ActionRun> => {
    const code = await new Promise<number | null>((resolve) =>
      child.on('close', (c, signal) => resolve(c ?? (signal ? -1 : null))),
    );
    ended = true;
    for (const w of watchers.splice(0))
      w.reject(new Error(`the action ended before printing ${w.pattern}:\n${stdout}\n${stderr}`));
    const contents: Record<string, string> = {};
    for (const [name, path] of Object.entries(files)) contents[name] = await readFile(path, 'utf8');
    await rm(dir, { recursive: true, force: true });
    return {
      code,
      stdout,
      stderr,
      outputs: parseCommandFile(contents.GITHUB_OUTPUT ?? ''),
      summary: contents.GITHUB_STEP_SUMMARY ?? '',
      files: contents,
    };
  })();
  return {
    pid: child.pid,
    stdout: () => stdout,
    waitForOutput: (pattern) =>
      new Promise((resolve, reject) => {
        if (ended) return reject(new Error(`the action has ended without printing ${pattern}`));
        watchers.push({ pattern, resolve, reject });
        check();
      }),
    kill: (signal) => child.kill(signal),
    exited: () => ended,
    done,
  };
}

/** Runs a bundled action to its end (see startAction). */
export async function runAction(
  action: string,
  options: { cwd: string; inputs: Record<string, string>; env: Record<string, string | undefined> },
): Promise<ActionRun> {
  return (await startAction(action, options)).done;
}

/** Lines of the run's stdout that hold `secret`, other than the one `::add-mask::` command that masks it. */
export function leakedLines(text: string, secret: string): string[] {
  return text.split('\n').filter((l) => l.includes(secret) && l !== `::add-mask::${secret}`);
}

/** A bare remote whose main holds the sample cases and a config without pacing, plus a clone of it. */
export async function makeLineupRemote(): Promise<GitRemote> {
  const remote = await makeGitRemote();
  await cp(join(REPO, 'cases'), join(remote.clone, 'cases'), {
    recursive: true,
    // Only case.json: images in the developer's tree belong to real runs.
    filter: (src) => !/[/\\]images(?:[/\\]|$)/.test(src.slice(join(REPO, 'cases').length)),
  });
  // No 2 s gap between requests: the fake has no rate limit to protect.
  await writeFile(
    join(remote.clone, 'lineup.config.json'),
    `${JSON.stringify({ timing: { delayBetweenImages: 0, delayAfterError: 0 }, retry: { initialDelay: 0, maxDelay: 0 } }, null, 2)}\n`,
  );
  await git(remote.clone, ['add', 'cases', 'lineup.config.json']);
  await git(remote.clone, ['commit', '-q', '-m', 'sample cases']);
  await git(remote.clone, ['push', '-q', 'origin', 'main']);
  return remote;
}

/** The fakes a step's calls go to (any of them). */
export interface Fakes {
  github?: { url: string };
  gemini?: { url: string };
  artifacts?: FakeArtifactService;
}

export interface RunnerEnvOptions {
  /** GITHUB_EVENT_NAME. */
  event: string;
  /** GITHUB_REF: refs/heads/main unless given; null leaves it unset (a review's run, say). */
  ref?: string | null;
  runId?: number | string;
  /** Set last: overrides anything above. */
  extra?: Record<string, string | undefined>;
}

/**
 * The variables a runner gives a step besides its inputs, pointed at the test's fakes: the fake
 * GitHub's API, the repository, the event, the ref and run id, the fake Gemini, the artifact service.
 */
export function runnerEnv(fakes: Fakes, o: RunnerEnvOptions): Record<string, string | undefined> {
  const ref = o.ref === undefined ? 'refs/heads/main' : o.ref;
  return {
    ...(fakes.github ? { GITHUB_API_URL: fakes.github.url } : {}),
    GITHUB_REPOSITORY: `${OWNER}/${REPO_NAME}`,
    ...(ref === null ? {} : { GITHUB_REF: ref }),
    GITHUB_EVENT_NAME: o.event,
    ...(o.runId === undefined ? {} : { GITHUB_RUN_ID: String(o.runId) }),
    ...(fakes.gemini ? { GOOGLE_GEMINI_BASE_URL: fakes.gemini.url } : {}),
    ...(fakes.artifacts ? artifactEnv(fakes.artifacts) : {}),
    ...o.extra,
  };
}

/**
 * A remote of its own (the sample cases, plus copies under `caseCopies`) and a fake GitHub taking
 * `token`, for one test; both end with `cleanups` (which the test's afterEach runs).
 */
export async function startWorld(
  token: string,
  cleanups: Array<() => Promise<void>>,
  caseCopies: readonly string[] = [],
): Promise<{ remote: GitRemote; github: FakeGitHub }> {
  const [remote, github] = await Promise.all([makeLineupRemote(), startFakeGitHub({ token })]);
  cleanups.push(
    () => remote.cleanup(),
    () => github.close(),
  );
  if (caseCopies.length) await addCaseCopies(remote, caseCopies);
  return { remote, github };
}

/** A fresh clone, like actions/checkout, optionally at a branch. */
export async function checkout(remote: GitRemote, branch?: string): Promise<string> {
  const clone = await remote.makeClone();
  if (branch) await git(clone, ['checkout', '-q', branch]);
  return clone;
}

/** Every regular file under `dir` (the .git directory included), as [path, bytes]. */
export async function allFiles(dir: string): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.push([path, await readFile(path)]);
  }
  return out;
}

/** Every object a repository holds (blobs, trees, commits, reachable or not), as text, for the secret scan. */
export function repoText(repo: string): Promise<string> {
  return git(repo, ['cat-file', '--batch-all-objects', '--batch']);
}

export function secretKey(): string {
  return `AIzaTEST${randomUUID().replace(/-/g, '')}`;
}

/**
 * Adds cases to the remote's main: copies of the first sample case under new ids (and dates), for
 * tests and benches that need more cases than the samples.
 */
export async function addCaseCopies(remote: GitRemote, ids: readonly string[]): Promise<void> {
  const source = JSON.parse(
    await readFile(join(remote.clone, 'cases', 'case-2025-01-19', 'case.json'), 'utf8'),
  );
  for (const id of ids) {
    await mkdir(join(remote.clone, 'cases', id), { recursive: true });
    await writeFile(
      join(remote.clone, 'cases', id, 'case.json'),
      `${JSON.stringify({ ...source, id, date: id.slice(5, 15) }, null, 2)}\n`,
    );
  }
  await git(remote.clone, ['add', 'cases']);
  await git(remote.clone, ['commit', '-q', '-m', `${ids.length} more cases`]);
  await git(remote.clone, ['push', '-q', 'origin', 'main']);
}

/** Resolves true when the action ends within `ms`. */
function endsWithin(child: StartedAction, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    child.done.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * What a runner does to cancel a step: SIGINT, SIGTERM 7.5 s later, the kill 2.5 s after that
 * (see README, "Cancelled and timed-out runs"); it stops early once the process has ended.
 */
export async function cancelLikeARunner(child: StartedAction): Promise<void> {
  child.kill('SIGINT');
  if (await endsWithin(child, 7_500)) return;
  child.kill('SIGTERM');
  if (await endsWithin(child, 2_500)) return;
  child.kill('SIGKILL');
}

/**
 * The inputs the nightly workflow gives batch-generate (.github/workflows/nightly.yml's scheduled
 * runs): batch mode, the scan's findings, committed to the case's branch with a pull request.
 */
export function nightlyInputs(
  cases: { 'case-id': string } | { 'case-ids': string },
  secrets: { key: string; token: string },
): Record<string, string> {
  return {
    ...cases,
    fix: 'true',
    mode: 'batch',
    commit: 'true',
    'open-pr': 'true',
    'gemini-api-key': secrets.key,
    'github-token': secrets.token,
  };
}
