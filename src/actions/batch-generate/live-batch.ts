import * as core from '@actions/core';
import type { BatchEvents } from '../../batch/events.ts';
import type { GalleryFailure } from '../../github/gallery.ts';
import type { Shutdown } from '../cancel.ts';
import { logEvents } from '../gallery-images.ts';
import type { BranchPublisher } from '../publish.ts';
import { Checkpoints } from './checkpoint.ts';
import type { Inputs } from './inputs.ts';

/**
 * A batch while it runs under Actions: its log lines, checkpoints pushed from its events (see
 * Checkpoints), and the push a cancel asks for at once. The one publisher it makes is the one the
 * end of the run pushes with, so pushes never overlap.
 */
export class LiveBatch {
  readonly generated: Array<{ caseId: string; imageId: string }> = [];
  readonly failures: GalleryFailure[] = [];
  readonly events: BatchEvents;
  private checkpoints: Checkpoints | undefined;
  private publisher: Promise<BranchPublisher> | undefined;
  private cancelPushReported = false;

  constructor(
    private readonly i: Inputs,
    private readonly shutdown: Shutdown,
    private readonly makePublisher: (batchId: string) => Promise<BranchPublisher>,
  ) {
    this.events = {
      ...logEvents(),
      imageDone: (item) => {
        this.generated.push({ caseId: item.caseId, imageId: item.imageId });
        this.checkpoints?.saved(true);
      },
      imageFailed: (item, failure) => {
        this.failures.push({
          caseId: item.caseId,
          imageId: item.imageId,
          error: failure.message,
          errorType: failure.errorType,
        });
        this.checkpoints?.saved(false);
      },
    };
  }

  /** The batch id is claimed: checkpoints can start (only when the run commits). */
  begin(batchId: string): void {
    if (!this.i.commit) return;
    this.publisher = this.makePublisher(batchId);
    // Never an unhandled rejection: the final push awaits the same promise and reports the error.
    this.publisher.catch(() => undefined);
    this.checkpoints = new Checkpoints({
      everyImages: this.i.checkpointImages,
      everyMs: this.i.checkpointMinutes * 60_000,
      push: () => this.checkpoint(),
    });
    this.shutdown.onStop((cause) => {
      if (cause.kind === 'signal') this.checkpoints?.request(`${cause.signal}`);
    });
    // A cancel that came before the batch id was claimed still gets its push.
    if (this.shutdown.cancelled && this.shutdown.cause?.kind === 'signal')
      this.checkpoints.request(this.shutdown.cause.signal);
  }

  async close(): Promise<void> {
    await this.checkpoints?.close();
  }

  /** The publisher, when the run commits and a batch was claimed. */
  get branchPublisher(): Promise<BranchPublisher> | undefined {
    return this.publisher;
  }

  private async checkpoint(): Promise<string> {
    if (!this.publisher) return 'nothing to push yet';
    const startedAt = Date.now();
    const publisher = await this.publisher;
    const commit = await publisher.push();
    this.reportCancelPush(startedAt, publisher.branch, commit.sha);
    if (!commit.changed) return `nothing new for ${publisher.branch}`;
    let line = `pushed ${commit.sha.slice(0, 12)} to ${publisher.branch}`;
    if (this.i.openPr) {
      const pr = await publisher.updatePullRequest(this.generated, this.failures);
      if (pr) line += `; ${pr.created ? 'opened' : 'updated'} pull request #${pr.number}`;
    }
    return line;
  }

  /** The figure the cancel is judged by: from the signal to what had answered being on the remote. */
  reportCancelPush(startedAt: number, branch: string, sha: string): void {
    const cause = this.shutdown.cause;
    if (this.cancelPushReported || cause?.kind !== 'signal' || startedAt < cause.at) return;
    this.cancelPushReported = true;
    core.info(
      `Cancel: what had answered before ${cause.signal} is on ${branch} at ${sha.slice(0, 12)}, ${Date.now() - cause.at} ms after the signal.`,
    );
  }
}
