import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchFileSchema } from '../src/cases/batch-file.ts';
import { buildActions, checkout, makeLineupRemote, runAction } from './support/action-env.ts';
import type { GitRemote } from './support/git-remote.ts';

let remote: GitRemote;

beforeAll(async () => {
  [, remote] = await Promise.all([buildActions(), makeLineupRemote()]);
}, 60_000);

afterAll(async () => {
  await remote?.cleanup();
});

test('scan-all: the matrix lists every case with work, the export is a batch file', async () => {
  const cwd = await checkout(remote);
  const run = await runAction('scan-missing', { cwd, inputs: { 'scan-all': 'true' }, env: {} });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  // Ten cases to a job by default: the three cases are one matrix entry, batch-generate's case-ids.
  expect(JSON.parse(run.outputs.matrix ?? '')).toEqual(['case-2025-01-19 case-2025-01-20 case-2025-01-21']);
  expect(run.outputs['case-count']).toBe('3');
  expect(run.outputs['missing-count']).toBe('13');
  expect(run.outputs['deferred-cases']).toBe('0');
  expect(run.stdout).not.toContain('Matrix capped');
  expect(run.outputs['report-path']).toBe('reports/missing-images.json');
  const exported = batchFileSchema.parse(
    JSON.parse(await readFile(join(cwd, 'reports/missing-images.json'), 'utf8')),
  );
  expect(exported.images).toHaveLength(13);
  expect(exported.images[0]).toEqual({ type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1' });
  expect(run.summary).toContain('13 image(s) to generate in 3 case(s)');
});

test('max-cases caps the matrix; the rest is left for the next run, and the log and summary say so', async () => {
  const cwd = await checkout(remote);
  const run = await runAction('scan-missing', {
    cwd,
    inputs: { 'scan-all': 'true', 'max-cases': '2', 'cases-per-job': '1' },
    env: {},
  });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  // One case to a job: each entry is a plain case id, as before groups.
  expect(JSON.parse(run.outputs.matrix ?? '')).toEqual(['case-2025-01-19', 'case-2025-01-20']);
  expect(run.outputs['deferred-cases']).toBe('1');
  // missing-count is all the work found, the deferred case's images included; so is the export.
  expect(run.outputs['missing-count']).toBe('13');
  const exported = batchFileSchema.parse(
    JSON.parse(await readFile(join(cwd, 'reports/missing-images.json'), 'utf8')),
  );
  expect(exported.images).toHaveLength(13);
  const note =
    'The matrix holds the first 2 of 3 cases (max-cases 2); 1 case(s) (case-2025-01-21 to case-2025-01-21) are left for the next run.';
  expect(run.stdout).toContain(`::warning title=Matrix capped::${note}`);
  expect(run.summary).toContain(note);
});

test.each(['0', '257', '2.5', 'many'])('cases-per-job %s is bad input', async (value) => {
  const cwd = await checkout(remote);
  const run = await runAction('scan-missing', {
    cwd,
    inputs: { 'scan-all': 'true', 'cases-per-job': value },
    env: {},
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('::error::cases-per-job: ');
  expect(run.outputs.matrix).toBeUndefined();
});

test.each(['0', '257', '2.5', 'many'])('max-cases %s is bad input', async (value) => {
  const cwd = await checkout(remote);
  const run = await runAction('scan-missing', {
    cwd,
    inputs: { 'scan-all': 'true', 'max-cases': value },
    env: {},
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('::error::max-cases: ');
  expect(run.outputs.matrix).toBeUndefined();
});

test('one case, and an unreadable case among many is a warning rather than a failure', async () => {
  const cwd = await checkout(remote);
  await writeFile(join(cwd, 'cases/case-2025-01-20/case.json'), '{ not json');
  const one = await runAction('scan-missing', {
    cwd,
    inputs: { 'case-id': 'case-2025-01-21', 'export-path': 'out/one.json' },
    env: {},
  });
  expect(one.code, one.stdout).toBe(0);
  expect(one.outputs).toMatchObject({
    matrix: '["case-2025-01-21"]',
    'missing-count': '5',
    'report-path': 'out/one.json',
  });

  const all = await runAction('scan-missing', { cwd, inputs: { 'scan-all': 'true' }, env: {} });
  expect(all.code).toBe(0);
  expect(JSON.parse(all.outputs.matrix ?? '')).toEqual(['case-2025-01-19 case-2025-01-21']);
  expect(all.stdout).toMatch(/::warning title=case-2025-01-20 cannot be scanned/);

  const broken = await runAction('scan-missing', { cwd, inputs: { 'case-id': 'case-2025-01-20' }, env: {} });
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/::error::.*case-2025-01-20/);
});

test('neither or both of case-id and scan-all is bad input', async () => {
  const cwd = await checkout(remote);
  const neither = await runAction('scan-missing', { cwd, inputs: {}, env: {} });
  expect(neither.code).toBe(1);
  expect(neither.stdout).toContain('::error::inputs: give exactly one of case-id or scan-all');
  const both = await runAction('scan-missing', {
    cwd,
    inputs: { 'case-id': 'case-2025-01-19', 'scan-all': 'true' },
    env: {},
  });
  expect(both.code).toBe(1);
});
