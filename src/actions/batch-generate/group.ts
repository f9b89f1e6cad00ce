import { relative } from 'node:path';
import * as core from '@actions/core';
import type { BatchSummary } from '../../batch/types.ts';
import { assertCaseId } from '../../cases/ids.ts';
import { ExitCode, InputError, InputErrors } from '../../errors.ts';
import { escapeCell, formatUsd } from '../../github/gallery.ts';
import { writeJobSummary } from '../../github/summary.ts';
import type { FinishedBatch } from '../publish.ts';

/**
 * The `case-ids` input: case ids separated by commas, spaces or newlines (a matrix entry of
 * scan-missing is one such string). Every bad id is listed at once; duplicates are dropped.
 */
export function parseCaseIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  const ids = value.split(/[\s,]+/).filter(Boolean);
  const problems: InputError[] = [];
  for (const id of ids) {
    try {
      assertCaseId(id, { field: 'case-ids' });
    } catch (error) {
      if (error instanceof InputError) problems.push(error);
      else throw error;
    }
  }
  if (problems.length) throw new InputErrors(problems);
  return [...new Set(ids)];
}

/** How one case of a group ended. */
export interface CaseOutcome {
  caseId: string;
  /** The batches finished for it (collected earlier jobs, then the new one); empty: nothing to do. */
  batches: FinishedBatch[];
  /** The error that ended it, when it did not get as far as a batch result. */
  error?: string;
}

/** Why a group stopped before its last case, and what was left untouched. */
export interface GroupStop {
  reason: string;
  untouched: string[];
}

/** A batch that ended early (cancel, deadline, cost cap, daily quota, auth): the group stops with it. */
export function stoppedEarly(outcome: CaseOutcome): BatchSummary | undefined {
  return outcome.batches.map((b) => b.result).find((r) => r.status === 'stopped');
}

/**
 * The step's outputs for a group: counts and cost summed over every case's batches; batch ids,
 * branches and pull request URLs as space-separated lists; `exit-code` 1 when anything failed,
 * else 3 when the group stopped early, else 0.
 */
export function groupOutputs(
  root: string,
  outcomes: readonly CaseOutcome[],
  stop: GroupStop | undefined,
  group?: FinishedBatch,
): Record<string, string> {
  const batches = [...outcomes.flatMap((o) => o.batches), ...(group ? [group] : [])];
  const results = batches.map((b) => b.result);
  const unique = (values: Array<string | undefined>) => [...new Set(values.filter(Boolean))].join(' ');
  const sum = (pick: (r: BatchSummary) => number) => results.reduce((n, r) => n + pick(r), 0);
  const failed =
    results.some((r) => r.exitCode === ExitCode.someFailed) || outcomes.some((o) => o.error !== undefined);
  return {
    'batch-id': results.map((r) => r.batchId).join(' '),
    total: String(sum((r) => r.total)),
    successful: String(sum((r) => r.successful)),
    failed: String(sum((r) => r.failed)),
    cost: String(Math.round(sum((r) => r.costUsd) * 1e6) / 1e6),
    branch: unique(batches.map((b) => b.branch)),
    'pull-request-url': unique(batches.map((b) => b.pullRequestUrl)),
    'report-path': results.map((r) => relative(root, r.errorReportFile)).join(' '),
    // As one run would say it: a failure (a bad key included) outranks a stop on purpose.
    'exit-code': String(failed ? ExitCode.someFailed : stop ? ExitCode.stoppedEarly : ExitCode.ok),
    'untouched-cases': stop ? stop.untouched.join(' ') : '',
  };
}

/** What a person does about the cases a stopped group never reached. */
function untouchedNote(stop: GroupStop): string {
  if (stop.untouched.length === 0) return '';
  return (
    `${stop.untouched.length} case(s) left untouched (${stop.reason}): ${stop.untouched.join(', ')}. ` +
    'Run the workflow again (or wait for the next night): finished cases are skipped, a stopped one ' +
    'continues from its branch, and these start then; or pass them as case-ids.'
  );
}

/** One table row per case at the end of the group's job summary, and the warning for a stopped group. */
export async function reportGroup(
  outcomes: readonly CaseOutcome[],
  stop: GroupStop | undefined,
  group?: FinishedBatch,
) {
  const rows = outcomes.map((o) => {
    const results = o.batches.map((b) => b.result);
    const made = results.reduce((n, r) => n + r.successful, 0);
    const cost = results.reduce((n, r) => n + r.costUsd, 0);
    const state = o.error
      ? `error: ${o.error}`
      : results.length === 0
        ? 'nothing to generate'
        : results
            .map((r) => `${r.batchId} ${r.status}${r.stopReason ? ` (${r.stopReason})` : ''}`)
            .join(', ');
    return `| ${escapeCell(o.caseId)} | ${made} | ${formatUsd(cost)} | ${escapeCell(state)} |`;
  });
  const note = stop ? untouchedNote(stop) : '';
  for (const o of outcomes) {
    if (o.error) core.error(o.error, { title: `${o.caseId} was not generated` });
  }
  if (note) core.warning(note, { title: 'lineup group stopped early' });
  await writeJobSummary(
    [
      `## lineup group: ${outcomes.length} case(s)`,
      '',
      '| Case | Images made | Cost | Batches |',
      '|---|---|---|---|',
      ...rows,
      ...(stop ? stop.untouched.map((id) => `| ${escapeCell(id)} | 0 | ${formatUsd(0)} | untouched |`) : []),
      '',
      ...(group
        ? [
            `New images of the group: ${group.result.total} in one batch, ${group.result.batchId} (${group.result.status}), collected into each case's branch by a later run.`,
            '',
          ]
        : []),
      ...(note ? [note, ''] : []),
    ].join('\n'),
  );
}
