import { describe, expect, test } from 'vitest';
import { groupOutputs, parseCaseIds } from '../src/actions/batch-generate/group.ts';
import { caseShare } from '../src/actions/batch-generate/group-batch.ts';
import { groupCases } from '../src/actions/scan-missing/matrix.ts';
import type { Progress } from '../src/batch/progress.ts';
import type { BatchSummary } from '../src/batch/types.ts';
import { InputErrors } from '../src/errors.ts';

describe('case-ids', () => {
  test('spaces, commas and newlines separate ids; duplicates are dropped, order kept', () => {
    expect(parseCaseIds('case-2025-01-20, case-2025-01-19\ncase-2025-01-20  case-2025-01-21-b')).toEqual([
      'case-2025-01-20',
      'case-2025-01-19',
      'case-2025-01-21-b',
    ]);
    expect(parseCaseIds(undefined)).toEqual([]);
  });

  test('every bad id is listed at once, naming the field', () => {
    let caught: unknown;
    try {
      parseCaseIds('case-2025-01-19 ../etc case-2025-02-30');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputErrors);
    const messages = (caught as InputErrors).problems.map((p) => p.message);
    expect(messages).toHaveLength(2);
    for (const m of messages) expect(m).toMatch(/^case-ids: /);
  });
});

test('the matrix groups consecutive case ids, the last group holding the rest', () => {
  const ids = [1, 2, 3, 4, 5].map((n) => `case-2025-01-0${n}`);
  expect(groupCases(ids, 2)).toEqual([`${ids[0]} ${ids[1]}`, `${ids[2]} ${ids[3]}`, `${ids[4]}`]);
  expect(groupCases(ids, 1)).toEqual(ids);
  expect(groupCases(ids, 10)).toEqual([ids.join(' ')]);
  expect(groupCases([], 10)).toEqual([]);
});

test("a case's share of a group batch holds only its images and its keys of each job", () => {
  const progress = {
    batchId: 'batch-2025-01-19-00001',
    status: 'submitted',
    mode: 'batch',
    completed: [{ type: 'scene', caseId: 'case-2025-01-19' }],
    pending: [
      { type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1' },
      { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-1' },
    ],
    failed: [],
    jobs: [
      {
        name: 'batches/one',
        displayName: 'lineup-x-job-1',
        keys: ['case-2025-01-19/suspect-1', 'case-2025-01-20/suspect-1'],
        state: 'JOB_STATE_PENDING',
      },
      {
        name: 'batches/two',
        displayName: 'lineup-x-job-2',
        keys: ['case-2025-01-20/scene'],
        state: 'JOB_STATE_PENDING',
      },
    ],
  } as unknown as Progress;
  const share = caseShare(progress, 'case-2025-01-19');
  expect(share.batchId).toBe(progress.batchId);
  expect(share.pending).toEqual([{ type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1' }]);
  expect(share.completed).toHaveLength(1);
  expect(share.jobs).toEqual([{ ...progress.jobs?.[0], keys: ['case-2025-01-19/suspect-1'] }]);
  // The whole record is left as it was.
  expect(progress.pending).toHaveLength(2);
  expect(caseShare(progress, 'case-2025-01-20').jobs?.map((j) => j.name)).toEqual([
    'batches/one',
    'batches/two',
  ]);
});

describe('the outputs of a group', () => {
  const result = (batchId: string, exitCode: 0 | 1 | 3, costUsd: number) =>
    ({
      batchId,
      status: exitCode === 3 ? 'stopped' : 'completed',
      exitCode,
      total: 4,
      successful: exitCode === 0 ? 4 : 2,
      failed: exitCode === 1 ? 2 : 0,
      costUsd,
      errorReportFile: `/w/reports/errors/${batchId}.json`,
    }) as unknown as BatchSummary;

  test('counts and cost summed, lists separated by spaces, a stop gives 3', () => {
    const out = groupOutputs(
      '/w',
      [
        {
          caseId: 'case-2025-01-19',
          batches: [{ result: result('batch-a', 0, 0.1), branch: 'images/case-2025-01-19' }],
        },
        {
          caseId: 'case-2025-01-20',
          batches: [{ result: result('batch-b', 3, 0.05), branch: 'images/case-2025-01-20' }],
        },
      ],
      { reason: 'deadline-minutes reached', untouched: ['case-2025-01-21'] },
    );
    expect(out).toMatchObject({
      'batch-id': 'batch-a batch-b',
      total: '8',
      successful: '6',
      cost: '0.15',
      branch: 'images/case-2025-01-19 images/case-2025-01-20',
      'report-path': 'reports/errors/batch-a.json reports/errors/batch-b.json',
      'exit-code': '3',
      'untouched-cases': 'case-2025-01-21',
    });
  });

  test('a failure outranks a stop; an error in a case counts as a failure', () => {
    const stop = { reason: 'stopped', untouched: [] };
    expect(
      groupOutputs(
        '/w',
        [{ caseId: 'case-2025-01-19', batches: [{ result: result('batch-a', 1, 0) }] }],
        stop,
      )['exit-code'],
    ).toBe('1');
    expect(
      groupOutputs('/w', [{ caseId: 'case-2025-01-19', batches: [], error: 'broken' }], undefined)[
        'exit-code'
      ],
    ).toBe('1');
    expect(groupOutputs('/w', [], undefined)['exit-code']).toBe('0');
  });
});
