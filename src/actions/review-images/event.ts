import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError } from '../../errors.ts';
import { isCommitId } from '../../github/refs.ts';

/**
 * The two events review-images answers, as GitHub delivers them in GITHUB_EVENT_PATH, reduced to
 * the few fields that decide anything. A field of the wrong type reads as absent (the request is
 * then ignored with a reason), never as an error: a stray comment must not fail a workflow run.
 */

/** A string field, or undefined when absent, null or of another type. */
const text = z.string().optional().catch(undefined);
/** A whole-number field (ids, PR numbers), or undefined. */
const whole = z.number().int().optional().catch(undefined);
const user = z.looseObject({ login: text }).optional().catch(undefined);

/**
 * `pull_request_review` (https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request_review).
 * The webhook's `review.state` is lower case (`approved`, `changes_requested`, `commented`,
 * `dismissed`, as in octokit/webhooks.net's ReviewState), unlike the REST API's `APPROVED`; it is
 * compared in lower case either way. `commit_id` is the commit the reviewer looked at.
 */
const reviewEvent = z.looseObject({
  pull_request: z.looseObject({ number: whole }).optional().catch(undefined),
  review: z.looseObject({
    id: whole,
    user,
    state: text,
    body: text,
    submitted_at: text,
    commit_id: text,
  }),
});

/**
 * `issue_comment` (https://docs.github.com/en/webhooks/webhook-events-and-payloads#issue_comment):
 * a comment on a pull request is an issue comment whose issue carries a `pull_request` object.
 */
const commentEvent = z.looseObject({
  issue: z
    .looseObject({ number: whole, pull_request: z.looseObject({}).optional().catch(undefined) })
    .optional()
    .catch(undefined),
  comment: z.looseObject({ user, body: text, created_at: text }),
});

/** What the event asks for. */
export type Request =
  | { kind: 'approve'; pr: number; actor: string; at: string; commit: string | null }
  | { kind: 'changes'; pr: number; actor: string; at: string; reviewId: number; reviewBody: string }
  | { kind: 'comment'; pr: number; actor: string; at: string; body: string }
  | { kind: 'ignore'; why: string };

/** Reads the event payload; the event name comes from GITHUB_EVENT_NAME, else from the payload's shape. */
export function parseEvent(payload: unknown, eventName: string | undefined): Request {
  const review = reviewEvent.safeParse(payload);
  const comment = commentEvent.safeParse(payload);
  const name = eventName || (review.success ? 'pull_request_review' : comment.success ? 'issue_comment' : '');
  const now = new Date().toISOString();
  if (name === 'pull_request_review' && review.success) return fromReview(review.data, now);
  if (name === 'issue_comment' && comment.success) {
    const { issue, comment: c } = comment.data;
    if (issue?.number === undefined || !issue.pull_request)
      return { kind: 'ignore', why: 'not a pull request comment' };
    const actor = c.user?.login;
    if (!actor) return { kind: 'ignore', why: 'the comment has no author' };
    return { kind: 'comment', pr: issue.number, actor, at: c.created_at ?? now, body: c.body ?? '' };
  }
  return { kind: 'ignore', why: `event ${JSON.stringify(name)} is not a review or a comment` };
}

function fromReview(event: z.output<typeof reviewEvent>, now: string): Request {
  const { review } = event;
  const pr = event.pull_request?.number;
  const actor = review.user?.login;
  if (pr === undefined || !actor)
    return { kind: 'ignore', why: 'the review event has no PR number or reviewer' };
  const state = (review.state ?? '').toLowerCase();
  const at = review.submitted_at ?? now;
  if (state === 'approved') {
    // The commit the reviewer looked at; GitHub always sends it. Anything not a sha counts as unknown.
    const commit = review.commit_id && isCommitId(review.commit_id) ? review.commit_id.toLowerCase() : null;
    return { kind: 'approve', pr, actor, at, commit };
  }
  if (state === 'changes_requested') {
    if (review.id === undefined) return { kind: 'ignore', why: 'the review has no id' };
    return { kind: 'changes', pr, actor, at, reviewId: review.id, reviewBody: review.body ?? '' };
  }
  return { kind: 'ignore', why: `a review in state ${JSON.stringify(state)} decides nothing` };
}

/** The event payload from `event-path`, else GITHUB_EVENT_PATH. */
export async function readEvent(eventPath: string | undefined): Promise<Request> {
  const path = eventPath ?? process.env.GITHUB_EVENT_PATH;
  if (!path)
    throw new InputError('no event to read: set event-path or GITHUB_EVENT_PATH', { field: 'event-path' });
  return parseEvent(JSON.parse(await readFile(path, 'utf8')), process.env.GITHUB_EVENT_NAME);
}
