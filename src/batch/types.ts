import type { RunExitCode } from '../errors.ts';
import type { ErrorType, FailureReason, ProviderName } from '../providers/types.ts';

/** One image the batch must produce. `imageId` is `suspect-N` or `scene`. */
export interface PlannedImage {
  type: 'suspect' | 'scene';
  caseId: string;
  /** Present for suspects (the seed's field). */
  suspectId?: string;
  /** Attempts allowed for this image; the seed's per-image `retries` overrides retry.maxAttempts. */
  retries?: number;
  /** Reviewer feedback appended to the prompt (regeneration from a PR review). */
  feedback?: string;
}

/** `caseId/suspect-1` or `caseId/scene`: how progress files name an image. */
export type ImageKey = string;

export interface FailureRecord {
  type: 'suspect' | 'scene';
  caseId: string;
  suspectId?: string;
  error: string;
  errorType: ErrorType;
  reason: FailureReason;
  attempts: number;
  recoverable: boolean;
}

/** The seed's BatchMetrics. */
export interface BatchMetrics {
  totalImages: number;
  successful: number;
  failed: number;
  skipped: number;
  pending: number;
  totalTimeMs: number;
  averageTimePerImageMs: number;
  apiCalls: number;
  retries: number;
  retryRate: number;
  rateLimitHits: number;
  estimatedCostUsd: number;
  /** Tokens × published prices, when the replies reported usage. */
  actualCostUsd?: number;
  /** What the vision judge cost and found, when it ran. */
  judgeCostUsd?: number;
  judgeCalls?: number;
  judged?: { pass: number; fail: number; notJudged: number };
  /** Passed ÷ (passed + failed); undefined when nothing was judged. */
  judgePassRate?: number;
}

export type BatchStatus = 'completed' | 'completed_with_failures' | 'stopped' | 'submitted';

/** What a finished (or stopped) run hands to its face: the CLI, the action, the PR body. */
export interface BatchSummary {
  batchId: string;
  status: BatchStatus;
  /** Why the batch stopped early, when status is `stopped`. */
  stopReason?: string;
  exitCode: RunExitCode;
  provider: ProviderName;
  model: string;
  total: number;
  successful: number;
  failed: number;
  pending: number;
  costUsd: number;
  metrics: BatchMetrics;
  /** Images written in this run (relative to the root), for commits and galleries. */
  generated: Array<{ caseId: string; imageId: string; file: string; costUsd: number; attempts: number }>;
  failures: FailureRecord[];
  progressFile: string;
  errorReportFile: string;
  logFile: string;
}
