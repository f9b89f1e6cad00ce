import { BATCH_ID_PATTERN } from '../batch/progress.ts';
import { isCaseId } from '../cases/ids.ts';

/**
 * lineup's names on GitHub, built and read here only: the `images/…` branches a batch's images go
 * to, and commit ids (see README, "What a run leaves behind" and the review section).
 */

/** Every branch lineup writes starts with this. */
const IMAGES_PREFIX = 'images/';

/** A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
const COMMIT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/i;

export function isCommitId(value: string): boolean {
  return COMMIT_ID.test(value);
}

/** `images/<id>` for a case id or a batch id. */
export function imagesBranch(id: string): string {
  return `${IMAGES_PREFIX}${id}`;
}

/** The branch a batch's images go to: `images/<case-id>` for one case, `images/<batch-id>` for several. */
export function branchOfBatch(batchId: string, cases: readonly string[]): string {
  return cases.length === 1 ? imagesBranch(cases[0] ?? '') : imagesBranch(batchId);
}

export function isImagesBranch(branch: string): boolean {
  return branch.startsWith(IMAGES_PREFIX);
}

/** What an `images/…` branch is about; undefined for any other branch. */
export type ImagesBranch = { kind: 'case'; caseId: string } | { kind: 'batch'; batchId: string };

export function parseImagesBranch(branch: string): ImagesBranch | undefined {
  if (!isImagesBranch(branch)) return undefined;
  const name = branch.slice(IMAGES_PREFIX.length);
  if (isCaseId(name)) return { kind: 'case', caseId: name };
  if (BATCH_ID_PATTERN.test(name)) return { kind: 'batch', batchId: name };
  return undefined;
}
