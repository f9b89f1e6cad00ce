import type { GenerationFailure } from '../providers/types.ts';
import type { PlanItem } from './plan.ts';
import type { BatchSummary } from './types.ts';

/** What a face (terminal, action) may listen to while a batch runs. All optional. */
export interface BatchEvents {
  /** Every log line, as written to the log file. */
  log?(line: string): void;
  start?(info: { batchId: string; total: number; done: number; toDo: number }): void;
  imageStart?(item: PlanItem, attempt: number): void;
  imageDone?(item: PlanItem, counts: { done: number; total: number }): void;
  imageRetry?(item: PlanItem, failure: GenerationFailure, delayMs: number): void;
  imageFailed?(item: PlanItem, failure: GenerationFailure): void;
  stopped?(reason: string): void;
  finish?(summary: BatchSummary): void;
}
