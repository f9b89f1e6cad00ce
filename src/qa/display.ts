import type { VisionVerdict } from '../cases/provenance.ts';

/**
 * A verdict as one checklist line: ✓ for every rubric check without an issue, ✗ with the judge's
 * words for the failed ones, e.g. `vision ✗ 0.40: ✓ one-person ✗ age (looks about 30) ✓ no-text`.
 * Plain text: each face escapes it for its own format.
 */
export function checklistLine(v: VisionVerdict, label = 'vision'): string {
  if (v.status === 'skipped') return `${label}: skipped${v.reason ? ` (${v.reason})` : ''}`;
  if (v.status === 'not-judged') return `${label}: not judged (${v.reason ?? 'no answer'})`;
  const failed = new Map<string, string[]>();
  for (const i of v.issues) failed.set(i.check, [...(failed.get(i.check) ?? []), i.detail]);
  const marks = v.checks.map((c) => (failed.has(c) ? `✗ ${c} (${failed.get(c)?.join('; ')})` : `✓ ${c}`));
  // Issues the judge named under a check the rubric does not have are shown too.
  for (const [check, details] of failed)
    if (!v.checks.includes(check)) marks.push(`✗ ${check} (${details.join('; ')})`);
  const score = v.score === undefined ? '' : ` ${v.score.toFixed(2)}`;
  const repaired = v.repairs ? `, after ${v.repairs} repair${v.repairs === 1 ? '' : 's'}` : '';
  return `${label} ${v.status === 'pass' ? '✓' : '✗'}${score}${repaired}: ${marks.join(' ')}`;
}

export interface VisionCounts {
  pass: number;
  fail: number;
  notJudged: number;
}

export function countVerdicts(verdicts: ReadonlyArray<VisionVerdict | undefined>): VisionCounts | undefined {
  const judged = verdicts.filter((v): v is VisionVerdict => v !== undefined && v.status !== 'skipped');
  if (judged.length === 0) return undefined;
  return {
    pass: judged.filter((v) => v.status === 'pass').length,
    fail: judged.filter((v) => v.status === 'fail').length,
    notJudged: judged.filter((v) => v.status === 'not-judged').length,
  };
}

export function countsLine(c: VisionCounts): string {
  return `Vision QA: ${c.pass} passed, ${c.fail} flagged, ${c.notJudged} not judged. Flags are advice for the reviewer; approving the pull request is still the only approval.`;
}
