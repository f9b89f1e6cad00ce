import { spawnSync } from 'node:child_process';
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
let gateSteps: Step[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lineup-gate-'));
  await writeFile(join(dir, 'gh.cjs'), FAKE_GH);
  await writeFile(join(dir, 'gh'), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'gh.cjs')}" "$@"\n`);
  await chmod(join(dir, 'gh'), 0o755);
  const doc = parse(await readFile(WORKFLOW, 'utf8')) as Yaml;
  gateSteps = ((doc.jobs as Yaml).gate as { steps: Step[] }).steps;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The values the runner would put for the step's `${{ }}` expressions. */
const EVENT = { repo: 'octo/cases', pr: '7' };

/** The step's env with each expression replaced by what this event gives it. */
function stepEnv(step: Step, actor: string): Record<string, string> {
  const value = (expression: string): string => {
    if (expression.includes('github.token')) return 'ghs_gate';
    if (expression.includes('github.repository')) return EVENT.repo;
    if (expression.includes('.number')) return EVENT.pr;
    if (expression.includes('.login')) return actor;
    throw new Error(`no test value for ${expression}`);
  };
  return Object.fromEntries(
    Object.entries(step.env ?? {}).map(([k, v]) => [
      k,
      v.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => value(e)),
    ]),
  );
}

interface GateRun {
  outputs: Record<string, string>;
  comments: string[];
  stdout: string;
}

/** Runs the gate's steps in order, as the runner does (a step whose `if:` is false is skipped). */
async function runGate(state: GhState, actor: string): Promise<GateRun> {
  const output = join(dir, `output-${Math.random().toString(36).slice(2)}`);
  const log = join(dir, `log-${Math.random().toString(36).slice(2)}`);
  await writeFile(output, '');
  await writeFile(log, '');
  await writeFile(join(dir, 'state.json'), JSON.stringify(state));
  const outputs: Record<string, string> = {};
  let stdout = '';
  for (const step of gateSteps) {
    if (!step.run) continue;
    // The second step runs only when the first found an images/* branch of this repository.
    if (step.id === 'who' && !outputs['head-ref']) continue;
    const run = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {
      env: {
        PATH: `${dir}:${process.env.PATH}`,
        GITHUB_OUTPUT: output,
        FAKE_GH_STATE: join(dir, 'state.json'),
        FAKE_GH_LOG: log,
        ...stepEnv(step, actor),
      },
      encoding: 'utf8',
    });
    expect(run.status, `${step.id}: ${run.stderr}`).toBe(0);
    stdout += run.stdout;
    for (const line of (await readFile(output, 'utf8')).split('\n').filter(Boolean)) {
      const at = line.indexOf('=');
      outputs[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  const calls = (await readFile(log, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
  const comments = calls
    .filter((c) => c[0] === 'pr' && c[1] === 'comment')
    .map((c) => c[c.indexOf('--body') + 1] ?? '');
  return { outputs, comments, stdout };
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
    const marker = join(dir, 'pwned');
    const gate = await runGate({ pr: OPEN_IMAGES_PR, permission: null }, `x$(touch ${marker})`);
    expect(gate.outputs.allowed).toBe('false');
    await expect(readFile(marker)).rejects.toThrow();
  });
});
