import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BATCH_ID_PATTERN } from '../batch/progress.ts';
import { isRealDate } from '../cases/ids.ts';
import { InputError } from '../errors.ts';
import { displayPath, parseJson } from '../util/read-json.ts';

/**
 * Only the fields statistics need. Loose on purpose: reports written by older or newer versions
 * carry other fields, and history should stay readable across versions.
 */
const batchReportSchema = z.looseObject({
  batchId: z.string().regex(BATCH_ID_PATTERN, 'must look like batch-YYYY-MM-DD-NNN'),
  generatedAt: z.string().optional(),
  mode: z.enum(['sync', 'batch']).default('sync'),
  summary: z.looseObject({
    total: z.number().int().nonnegative(),
    successful: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    pending: z.number().int().nonnegative().default(0),
  }),
  metrics: z.looseObject({
    totalTimeMs: z.number().nonnegative(),
    estimatedCostUsd: z.number().nonnegative(),
    actualCostUsd: z.number().nonnegative().optional(),
    judgeCostUsd: z.number().nonnegative().optional(),
    judgePassRate: z.number().min(0).max(1).optional(),
  }),
});

type BatchReport = z.infer<typeof batchReportSchema>;

export interface DatedReport {
  /** The day in the batch id, which is when the batch was created (UTC). */
  date: string;
  report: BatchReport;
  file: string;
}

function errorReportsDir(root: string): string {
  return join(root, 'reports', 'errors');
}

/** `2025-01-19` from `batch-2025-01-19-001`, or undefined for anything that is not a batch id. */
function dateOfBatchId(batchId: string): string | undefined {
  if (!BATCH_ID_PATTERN.test(batchId)) return undefined;
  const date = batchId.slice(6, 16);
  return isRealDate(date) ? date : undefined;
}

/**
 * Every `reports/errors/<batch-id>.json`, sorted by batch id. Other files in the folder (notes,
 * editor backups) are skipped; a report that is not valid is an InputError naming file and field.
 */
export async function readBatchReports(root: string): Promise<DatedReport[]> {
  const dir = errorReportsDir(root);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const wanted = names
    .filter((n) => n.endsWith('.json') && dateOfBatchId(n.slice(0, -5)) !== undefined)
    .sort();
  return Promise.all(
    wanted.map(async (name) => {
      const file = join(dir, name);
      const report = parseJson(await readFile(file, 'utf8'), batchReportSchema, file);
      const fromName = name.slice(0, -5);
      // The file name is what --resume and the logs use; a report copied under another name would
      // be counted on the wrong day.
      if (report.batchId !== fromName) {
        throw new InputError(`is ${JSON.stringify(report.batchId)} but the file is named ${name}`, {
          file: displayPath(file),
          field: 'batchId',
        });
      }
      return { date: dateOfBatchId(fromName) ?? '', report, file };
    }),
  );
}
