import * as core from '@actions/core';
import { errorMessage } from '../util/error-message.ts';

/**
 * How long a cancelled run keeps waiting for a request in flight. A runner cancels a step with
 * SIGINT, then SIGTERM 7.5 s later, then kills the process tree 2.5 s after that. Waiting 5 s
 * leaves 2.5 s before the SIGTERM (and 5 s before the kill) for the last push, the pull request
 * body and the job summary; the answer of a request still out then is given up (see README,
 * "Cancelled and timed-out runs").
 */
const IN_FLIGHT_WINDOW_MS = 5_000;

export type StopCause =
  | { kind: 'signal'; signal: NodeJS.Signals; at: number }
  | { kind: 'deadline'; at: number };

export interface ShutdownOptions {
  /** Stop starting requests this long after `install` (the `deadline-minutes` input). */
  deadlineMs?: number | undefined;
  /** How long a cancel waits for requests in flight before giving them up. */
  inFlightWindowMs?: number;
  now?: () => number;
}

/**
 * A CI run's two ways of ending early. A cancel (SIGINT or SIGTERM) stops starting requests at
 * once, asks for an immediate checkpoint (`onCancel`), and gives up on requests in flight after
 * the window or at the next signal. The deadline stops starting requests and lets those in flight
 * finish. Either way the batch ends as stopped (lineup exit 3), its rest pending.
 */
export class Shutdown {
  /** Aborted when nothing new may start; its reason is the batch's stop reason. */
  private readonly stopController = new AbortController();
  /** Aborted when requests in flight are given up. */
  private readonly abandonController = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly listeners: Array<(cause: StopCause) => void> = [];
  private readonly onSignal = (signal: NodeJS.Signals) => this.cancel(signal);
  private readonly now: () => number;
  cause: StopCause | undefined;

  constructor(private readonly options: ShutdownOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get signal(): AbortSignal {
    return this.stopController.signal;
  }

  get abandon(): AbortSignal {
    return this.abandonController.signal;
  }

  /** A cancel (not the deadline) has been received. */
  get cancelled(): boolean {
    return this.cause?.kind === 'signal';
  }

  install(): this {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    const { deadlineMs } = this.options;
    if (deadlineMs !== undefined) {
      const timer = setTimeout(() => this.deadline(deadlineMs), deadlineMs);
      timer.unref();
      this.timers.push(timer);
    }
    return this;
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const t of this.timers) clearTimeout(t);
  }

  /** Called once, on the first cancel or the deadline. */
  onStop(listener: (cause: StopCause) => void): void {
    this.listeners.push(listener);
  }

  private cancel(signal: NodeJS.Signals): void {
    if (this.cancelled) {
      // The runner's SIGTERM (or a second Ctrl-C): the kill is 2.5 s away, so stop waiting.
      if (!this.abandon.aborted) {
        core.info(`${signal} received: giving up on the requests still in flight.`);
        this.abandonController.abort();
      }
      return;
    }
    const window = this.options.inFlightWindowMs ?? IN_FLIGHT_WINDOW_MS;
    core.info(
      `${signal} received: the run is being cancelled. Starting nothing new, pushing what has answered, waiting up to ${(window / 1000).toFixed(1)} s for requests in flight.`,
    );
    this.cause = { kind: 'signal', signal, at: this.now() };
    const timer = setTimeout(() => {
      if (this.abandon.aborted) return;
      core.info('Requests still in flight are given up: the runner is about to end the job.');
      this.abandonController.abort();
    }, window);
    timer.unref();
    this.timers.push(timer);
    this.stop(`cancelled (${signal})`);
  }

  private deadline(ms: number): void {
    if (this.cause) return;
    core.info(
      `deadline-minutes reached (${(ms / 60_000).toFixed(2)} min): starting nothing new, letting the requests in flight finish.`,
    );
    this.cause = { kind: 'deadline', at: this.now() };
    this.stop('deadline-minutes reached');
  }

  private stop(reason: string): void {
    this.stopController.abort(reason);
    const cause = this.cause;
    if (!cause) return;
    for (const l of this.listeners) {
      try {
        l(cause);
      } catch (error) {
        core.warning(`shutdown hook failed: ${errorMessage(error)}`);
      }
    }
  }
}
