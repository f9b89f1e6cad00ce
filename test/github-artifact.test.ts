import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { artifactName, uploadReports } from '../src/github/artifact.ts';
import {
  artifactEnv,
  type FakeArtifactService,
  sha256,
  startFakeArtifactService,
  unzip,
  withEnv,
} from './support/fake-artifact.ts';

let service: FakeArtifactService;
let root: string;
let restore: () => void;

beforeEach(async () => {
  service = await startFakeArtifactService();
  root = await mkdtemp(join(tmpdir(), 'lineup-artifact-'));
  restore = withEnv({ ...artifactEnv(service, 'run-42', 'job-7'), GITHUB_STEP_SUMMARY: undefined });
});
afterEach(async () => {
  restore();
  await service.close();
  await rm(root, { recursive: true, force: true });
});

describe('uploadReports', () => {
  test('the real artifact client uploads one zip with the report files to the fake service', async () => {
    const report = JSON.stringify({ batchId: 'batch-2025-01-19-001', summary: { total: 4 } });
    const log = '2025-01-19T10:02:15Z [batch-001] PROGRESS: 1/4 (25%) - suspect-1 complete\n';
    await mkdir(join(root, 'reports', 'errors'), { recursive: true });
    await mkdir(join(root, 'reports', 'logs'), { recursive: true });
    await writeFile(join(root, 'reports/errors/batch-2025-01-19-001.json'), report);
    await writeFile(join(root, 'reports/logs/batch-2025-01-19-001.log'), log);
    await writeFile(join(root, 'reports/stats.csv'), 'batch_id,date,total,successful,failed,time,cost\n');

    const result = await uploadReports({
      name: 'lineup-report-batch-2025-01-19-001',
      rootDirectory: root,
      files: [
        'reports/errors/batch-2025-01-19-001.json',
        join(root, 'reports/logs/batch-2025-01-19-001.log'),
        'reports/stats.csv',
        'reports/progress/never-written.json',
      ],
    });

    expect(result?.id).toBe(1);
    expect(result?.files).toHaveLength(3);
    const [artifact] = service.artifacts;
    expect(artifact).toMatchObject({
      name: 'lineup-report-batch-2025-01-19-001',
      workflowRunBackendId: 'run-42',
      workflowJobRunBackendId: 'job-7',
      finalized: true,
    });
    expect(artifact?.hash).toBe(`sha256:${sha256(artifact?.zip ?? Buffer.alloc(0))}`);
    const entries = new Map(
      unzip(artifact?.zip ?? Buffer.alloc(0)).map((e) => [e.name, e.data.toString('utf8')]),
    );
    expect([...entries.keys()].sort()).toEqual([
      'reports/errors/batch-2025-01-19-001.json',
      'reports/logs/batch-2025-01-19-001.log',
      'reports/stats.csv',
    ]);
    expect(entries.get('reports/errors/batch-2025-01-19-001.json')).toBe(report);
    expect(entries.get('reports/logs/batch-2025-01-19-001.log')).toBe(log);
    expect(service.requests.some((r) => r.query.includes('comp=blocklist'))).toBe(true);
  });

  test('nothing to upload → no artifact and no request', async () => {
    expect(
      await uploadReports({ name: 'x', rootDirectory: root, files: ['reports/missing.json'] }),
    ).toBeUndefined();
    expect(service.requests).toHaveLength(0);
  });

  test('artifact names lose the characters the service refuses', () => {
    expect(artifactName('report: a/b\\c|d*e?"f<g>')).toBe('report- a-b-c-d-e--f-g-');
  });
});
