import { expect, test } from 'vitest';
import { parseEvent } from '../src/actions/review-images/event.ts';
import {
  branchOfBatch,
  imagesBranch,
  isCommitId,
  isImagesBranch,
  parseImagesBranch,
} from '../src/github/refs.ts';

const SHA1 = '0123456789abcdef0123456789abcdef01234567';

test('branch names: one case is images/<case-id>, several are images/<batch-id>, and both parse back', () => {
  expect(branchOfBatch('batch-2025-01-19-001', ['case-2025-01-19'])).toBe('images/case-2025-01-19');
  expect(branchOfBatch('batch-2025-01-19-001', ['case-2025-01-19', 'case-2025-01-20'])).toBe(
    'images/batch-2025-01-19-001',
  );
  const named = ['case-2025-01-19', 'batch-2025-01-19-12345'].map((id) =>
    parseImagesBranch(imagesBranch(id)),
  );
  expect(named).toEqual([
    { kind: 'case', caseId: 'case-2025-01-19' },
    { kind: 'batch', batchId: 'batch-2025-01-19-12345' },
  ]);
});

test('branch names: anything else is not a lineup branch', () => {
  for (const name of [
    'main',
    'images/',
    'images/notes',
    'images/case-2025-02-30',
    'feature/images/case-2025-01-19',
  ]) {
    expect(parseImagesBranch(name), name).toBeUndefined();
  }
  expect(isImagesBranch('images/anything')).toBe(true);
  expect(isImagesBranch('main')).toBe(false);
});

test('commit ids: 40 or 64 hex digits, either case; nothing shorter, longer or other', () => {
  expect(isCommitId(SHA1)).toBe(true);
  expect(isCommitId(SHA1.toUpperCase())).toBe(true);
  expect(isCommitId(`${SHA1}${'a'.repeat(24)}`)).toBe(true);
  for (const bad of [SHA1.slice(1), `${SHA1}0`, `${SHA1.slice(0, 39)}g`, 'HEAD', `${SHA1}\n`]) {
    expect(isCommitId(bad), bad).toBe(false);
  }
});

/** A pull_request_review payload as GitHub delivers it (webhook `review.state` in lower case). */
function reviewPayload(review: Record<string, unknown>, pr: unknown = { number: 7 }) {
  return {
    action: 'submitted',
    review: { id: 80, user: { login: 'alice' }, body: null, submitted_at: '2026-11-29T10:00:00Z', ...review },
    pull_request: pr,
  };
}

test('review events: approved names the reviewed commit, changes_requested the review id', () => {
  expect(
    parseEvent(reviewPayload({ state: 'approved', commit_id: SHA1.toUpperCase() }), 'pull_request_review'),
  ).toEqual({
    kind: 'approve',
    pr: 7,
    actor: 'alice',
    at: '2026-11-29T10:00:00Z',
    commit: SHA1,
  });
  expect(parseEvent(reviewPayload({ state: 'approved', commit_id: 'HEAD' }), undefined)).toMatchObject({
    kind: 'approve',
    commit: null,
  });
  expect(parseEvent(reviewPayload({ state: 'changes_requested', body: 'redo it' }), undefined)).toMatchObject(
    {
      kind: 'changes',
      reviewId: 80,
      reviewBody: 'redo it',
    },
  );
  // A null body (GitHub sends one for a review without text) reads as empty.
  expect(parseEvent(reviewPayload({ state: 'CHANGES_REQUESTED' }), undefined)).toMatchObject({
    reviewBody: '',
  });
});

test('review events that decide nothing, or lack what decides, are ignored with a reason', () => {
  expect(parseEvent(reviewPayload({ state: 'commented' }), undefined)).toEqual({
    kind: 'ignore',
    why: 'a review in state "commented" decides nothing',
  });
  expect(parseEvent(reviewPayload({ state: 'approved' }, { number: '7' }), undefined)).toMatchObject({
    why: 'the review event has no PR number or reviewer',
  });
  expect(parseEvent(reviewPayload({ state: 'changes_requested', id: 1.5 }), undefined)).toMatchObject({
    why: 'the review has no id',
  });
  expect(parseEvent({ action: 'opened' }, 'pull_request')).toMatchObject({
    why: 'event "pull_request" is not a review or a comment',
  });
});

test('comment events: only a pull request comment with an author counts', () => {
  const comment = {
    id: 42,
    body: '/regenerate scene',
    user: { login: 'bob' },
    created_at: '2026-11-29T11:00:00Z',
  };
  expect(parseEvent({ issue: { number: 9, pull_request: { url: 'x' } }, comment }, 'issue_comment')).toEqual({
    kind: 'comment',
    pr: 9,
    actor: 'bob',
    at: '2026-11-29T11:00:00Z',
    body: '/regenerate scene',
  });
  expect(parseEvent({ issue: { number: 9 }, comment }, undefined)).toMatchObject({
    why: 'not a pull request comment',
  });
  expect(
    parseEvent({ issue: { number: 9, pull_request: {} }, comment: { ...comment, user: null } }, undefined),
  ).toMatchObject({ why: 'the comment has no author' });
});
