import type { RunExitCode } from '../errors.ts';
import type { ErrorType, FailureReason, ProviderName } from '../providers/types.ts';

export type { PlannedImage } from '../images/types.ts';

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

/** The error report's metrics (README, "What a run leaves behind"). */
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
