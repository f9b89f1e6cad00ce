import { join } from 'node:path';
import { buildPullRequestBody, type GalleryFailure } from '../../github/gallery.ts';
import { type CommitResult, commitAndPush } from '../../github/git.ts';
import { makeOctokit, upsertPullRequest } from '../../github/pull-request.ts';
import type { BranchPlan } from '../branch-state.ts';
import { galleryForCases, progressPath } from '../gallery-images.ts';

/** Files the pull request carries for these cases: their images directory (manifest included) and case.json. */
function casePaths(caseIds: readonly string[]): string[] {
  return caseIds.flatMap((id) => [join('cases', id, 'images'), join('cases', id, 'case.json')]);
}

export interface PublisherOptions {
  root: string;
  token: string | undefined;
  owner: string;
  repo: string;
  branch: string;
  cases: readonly string[];
  batchId: string;
  /** The pull request's base; undefined: no pull request. */
  base: string | undefined;
  /** What the run does with the branch (looked at once, see BranchPlan). */
  plan(): Promise<BranchPlan>;
}

/**
 * Everything a batch publishes to its `images/…` branch, from the checkpoints during the run and
 * from its end: one push at a time, the first one starting a stale branch over (under a lease),
 * later ones adding to what the first pushed.
 */
export class BranchPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private pushedOnce = false;
  /** The branch tip holding this run's work, once there is one. */
  sha: string | undefined;
  pullRequestUrl = '';
  pullRequestNumber: number | undefined;

  constructor(private readonly o: PublisherOptions) {}

  get branch(): string {
    return this.o.branch;
  }

  get cases(): string[] {
    return [...this.o.cases];
  }

  /** Commits the saved images, manifests, case files and progress file, and pushes them. */
  push(): Promise<CommitResult> {
    const next = this.chain.then(() => this.pushNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Opens the pull request, or brings its gallery up to date, at the last pushed commit. */
  updatePullRequest(
    generated: ReadonlyArray<{ caseId: string; imageId: string }>,
    failures: GalleryFailure[],
  ): Promise<{ url: string; number: number; created: boolean } | undefined> {
    const next = this.chain.then(() => this.pullRequestNow(generated, failures));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Waits for every push and update asked for so far. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async pushNow(): Promise<CommitResult> {
    const { cases } = this.o;
    const plan = await this.o.plan();
    const fresh = plan.kind === 'fresh' && !this.pushedOnce;
    const commit = await commitAndPush({
      cwd: this.o.root,
      branch: this.o.branch,
      paths: [...casePaths(cases), progressPath(this.o.batchId)],
      message: `lineup: images for ${cases.length === 1 ? cases[0] : `${cases.length} cases`} (${this.o.batchId})`,
      ...(this.o.token ? { token: this.o.token } : {}),
      // A branch whose pull request was merged or closed starts over from the checkout, once.
      ...(fresh && plan.kind === 'fresh' ? { fresh: true, expectedTip: plan.tip } : {}),
    });
    if (commit.changed) {
      this.pushedOnce = true;
      this.sha = commit.sha;
    } else if (this.pushedOnce || plan.kind === 'continue') {
      // The branch's tip is work in progress (ours or an earlier run's): the gallery can show it.
      this.sha = commit.sha;
    }
    return commit;
  }

  private async pullRequestNow(
    generated: ReadonlyArray<{ caseId: string; imageId: string }>,
    failures: GalleryFailure[],
  ) {
    const { base, token, owner, repo, cases, batchId } = this.o;
    if (!base || !token || !this.sha) return undefined;
    const images = await galleryForCases(this.o.root, cases, { generated });
    if (images.length === 0) return undefined;
    const pr = await upsertPullRequest({
      octokit: makeOctokit(token),
      owner,
      repo,
      head: this.o.branch,
      base,
      title: cases.length === 1 ? `Images for ${cases[0]}` : `Images for ${cases.length} cases (${batchId})`,
      body: buildPullRequestBody({ owner, repo, sha: this.sha, images, batchId, failures }),
      labels: ['lineup', 'images'],
    });
    this.pullRequestUrl = pr.url;
    this.pullRequestNumber = pr.number;
    return pr;
  }
}
