import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';

/**
 * The review workflow's gate job, its shell steps run as a runner runs them (`bash --noprofile
 * --norc -eo pipefail`, the step's `env:`, a GITHUB_OUTPUT file) with the real `jq` and a fake `gh`
 * that answers what GitHub's API answers. The gate decides whether the job holding the secrets
 * starts, so who is let through is tested here rather than trusted to review.
 */

const WORKFLOW = join(import.meta.dirname, '..', '.github', 'workflows', 'image-review.yml');
const hasJq = spawnSync('jq', ['--version']).status === 0;
if (!hasJq) {
  console.warn(
    'SKIPPED the review gate test: no jq found (install the Debian package `jq`, as .ci/run does).',
  );
}

type Yaml = Record<string, unknown>;
interface Step {
  id?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
}

/** What the fake `gh` answers: `gh pr view`'s JSON, and the permission API's answer (404 when null). */
interface GhState {
  pr: { headRefName: string; isCrossRepository: boolean; state: string };
  permission: { permission: string; role_name: string } | null;
}

/*
 * The fake gh. `gh pr view --json` prints the fields asked for; `gh api` prints the response body,
 * and on an HTTP error prints `gh: Not Found (HTTP 404)` to stderr and exits 1 (the line gh printed
 * in seachicken/gh-poi#12); `gh pr comment` is recorded. GET /repos/{o}/{r}/collaborators/{u}/permission
 * answers `permission` admin, write, read or none (octokit's docs of getCollaboratorPermissionLevel,
 * octokit/plugin-rest-endpoint-methods.js#62) with the finer role in `role_name` (maintain under
 * write, triage under read, as test/support/fake-github.ts answers too), and 404 for someone who is
 * not a collaborator.
 */
const FAKE_GH = `
const fs = require('node:fs');
const state = JSON.parse(fs.readFileSync(process.env.FAKE_GH_STATE, 'utf8'));
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_GH_LOG, JSON.stringify(args) + '\\n');
if (args[0] === 'pr' && args[1] === 'view') {
  process.stdout.write(JSON.stringify(state.pr));
} else if (args[0] === 'api' && /^repos\\/[^/]+\\/[^/]+\\/collaborators\\/[^/]+\\/permission$/.test(args[1])) {
  if (state.permission === null) {
    process.stderr.write('gh: Not Found (HTTP 404)\\n');
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ user: {}, ...state.permission }));
} else if (args[0] === 'pr' && args[1] === 'comment') {
  // recorded above
} else {
  process.stderr.write('fake gh: unexpected ' + args.join(' ') + '\\n');
  process.exit(2);
}
`;

let dir: string;
let gate: { steps: Step[]; outputs: Record<string, string> };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lineup-gate-'));
  await writeFile(join(dir, 'gh.cjs'), FAKE_GH);
  await writeFile(join(dir, 'gh'), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'gh.cjs')}" "$@"\n`);
  await chmod(join(dir, 'gh'), 0o755);
  const doc = parse(await readFile(WORKFLOW, 'utf8')) as Yaml;
  gate = (doc.jobs as Yaml).gate as typeof gate;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The event the gate runs for: a pull request of this repository. */
const EVENT = { repo: 'octo/cases', pr: '7' };

/** Each step's outputs so far, by step id. */
type StepOutputs = Record<string, Record<string, string>>;

/**
 * What the runner puts for an expression of the gate: the event's fields and the token, and
 * `steps.<id>.outputs.<name>` ('' when unset). Anything else fails the test, so a new expression
 * in the gate gets a value here before it is trusted.
 */
function evaluate(expression: string, actor: string, steps: StepOutputs): string {
  const e = expression.trim();
  const output = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e);
  if (output) return steps[output[1] ?? '']?.[output[2] ?? ''] ?? '';
  if (e === 'github.token') return 'ghs_gate';
  if (e === 'github.repository') return EVENT.repo;
  if (e === 'github.event.pull_request.number || github.event.issue.number') return EVENT.pr;
  if (e === 'github.event.review.user.login || github.event.comment.user.login') return actor;
  throw new Error(`no test value for the expression ${e}`);
}

/** `${{ … }}` replaced as the runner replaces it, before the shell ever sees the text. */
function substitute(text: string, actor: string, steps: StepOutputs): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => evaluate(e, actor, steps));
}

/** A step's `if:` of the form the gate uses (`steps.<id>.outputs.<name> != ''`); anything else fails the test. */
function stepRuns(step: Step, actor: string, steps: StepOutputs): boolean {
  if (step.if === undefined) return true;
  const test = /^(.+?) != ''$/.exec(step.if.trim());
  if (!test) throw new Error(`the test cannot evaluate if: ${step.if}`);
  return evaluate(test[1] ?? '', actor, steps) !== '';
}

async function readOutputs(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8')).split('\n').filter(Boolean)) {
    const at = line.indexOf('=');
    out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

interface GateRun {
  /** The job's outputs, from its `outputs:` mapping. */
  outputs: Record<string, string>;
  comments: string[];
}

/** Runs the gate's steps in order as the runner does: each with its own GITHUB_OUTPUT, skipped when its `if:` is false. */
async function runGate(state: GhState, actor: string): Promise<GateRun> {
  const log = join(dir, `log-${randomUUID()}`);
  await writeFile(log, '');
  await writeFile(join(dir, 'state.json'), JSON.stringify(state));
  const steps: StepOutputs = {};
  for (const step of gate.steps) {
    if (!step.run || !stepRuns(step, actor, steps)) continue;
    const output = join(dir, `output-${randomUUID()}`);
    await writeFile(output, '');
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(v, actor, steps)]),
    );
    const run = spawnSync(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', substitute(step.run, actor, steps)],
      {
        cwd: dir,
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          GITHUB_OUTPUT: output,
          FAKE_GH_STATE: join(dir, 'state.json'),
          FAKE_GH_LOG: log,
          ...env,
        },
        encoding: 'utf8',
      },
    );
    expect(run.status, `${step.id}: ${run.stderr}`).toBe(0);
    if (step.id) steps[step.id] = await readOutputs(output);
  }
  const outputs = Object.fromEntries(
    Object.entries(gate.outputs)
      .map(([name, value]) => [name, substitute(value, actor, steps)])
      .filter(([, value]) => value !== ''),
  );
  const calls = (await readFile(log, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
  const comments = calls
    .filter((c) => c[0] === 'pr' && c[1] === 'comment')
    .map((c) => c[c.indexOf('--body') + 1] ?? '');
  return { outputs, comments };
}

const OPEN_IMAGES_PR = { headRefName: 'images/case-2025-01-19', isCrossRepository: false, state: 'OPEN' };

describe.skipIf(!hasJq)('the review gate, its shell steps run with a fake gh', () => {
  test.each([
    ['admin', ''],
    ['write', ''],
    ['write', 'maintain'],
  ])('%s (%s) is let through, and nobody is told anything', async (permission, role) => {
    const gate = await runGate({ pr: OPEN_IMAGES_PR, permission: { permission, role_name: role } }, 'alice');
    expect(gate.outputs).toEqual({ 'head-ref': 'images/case-2025-01-19', open: 'true', allowed: 'true' });
    expect(gate.comments).toEqual([]);
  });

  test.each([
    ['read', 'read'],
    ['read', 'triage'],
    ['none', ''],
  ])('%s (%s) is refused with a reply naming the permission', async (permission, role) => {
    const gate = await runGate({ pr: OPEN_IMAGES_PR, permission: { permission, role_name: role } }, 'bob');
    expect(gate.outputs.allowed).toBe('false');
    expect(gate.comments).toHaveLength(1);
    expect(gate.comments[0]).toContain(`@bob only people with write access to this repository`);
    expect(gate.comments[0]).toContain(`\`${permission}\``);
  });

  test('someone who is not a collaborator (the API answers 404) is refused with a reply', async () => {
    const gate = await runGate({ pr: OPEN_IMAGES_PR, permission: null }, 'mallory');
    expect(gate.outputs.allowed).toBe('false');
    expect(gate.comments[0]).toContain('@mallory only people with write access');
  });

  test('a merged image PR still goes on (the action replies), with open=false', async () => {
    const gate = await runGate(
      { pr: { ...OPEN_IMAGES_PR, state: 'MERGED' }, permission: { permission: 'write', role_name: 'write' } },
      'alice',
    );
    expect(gate.outputs).toMatchObject({ open: 'false', allowed: 'true' });
  });

  test('a PR from a fork, or not from an images/* branch, stops at the first step: no permission asked', async () => {
    for (const pr of [
      { ...OPEN_IMAGES_PR, isCrossRepository: true },
      { ...OPEN_IMAGES_PR, headRefName: 'feature/x' },
    ]) {
      const gate = await runGate({ pr, permission: { permission: 'admin', role_name: 'admin' } }, 'alice');
      expect(gate.outputs).toEqual({});
      expect(gate.comments).toEqual([]);
    }
  });

  test('an actor name is data: a login crafted as shell is never run', async () => {
    // The steps run in `dir`, so the marker needs no slash (a login with one would not reach the API).
    const gate = await runGate({ pr: OPEN_IMAGES_PR, permission: null }, 'x$(touch pwned)`touch pwned`');
    expect(gate.outputs.allowed).toBe('false');
    expect(gate.comments[0]).toContain('@x$(touch pwned)`touch pwned` only people with write access');
    await expect(readFile(join(dir, 'pwned'))).rejects.toThrow();
  });
});
