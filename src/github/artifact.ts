import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';

export interface UploadReportsOptions {
  /** Artifact name, e.g. `lineup-report-batch-2025-01-19-001`. */
  name: string;
  /** Files to include (absolute, or relative to `rootDirectory`); missing ones are skipped. */
  files: string[];
  /** Paths inside the zip are relative to this directory. */
  rootDirectory: string;
  retentionDays?: number;
}

export interface UploadedArtifact {
  id: number | undefined;
  size: number | undefined;
  digest: string | undefined;
  /** The files that went into the zip (absolute). */
  files: string[];
}

/** Characters the artifact service refuses in a name. */
const BAD_NAME = /[":<>|*?\r\n\\/]/g;

export function artifactName(name: string): string {
  return name.replace(BAD_NAME, '-');
}

/**
 * Uploads the run's reports (error report, log, stats) as one zip artifact. A report that was never
 * written (a run that stopped early has no error report) is left out rather than failing the upload;
 * with nothing to upload at all, returns undefined.
 */
export async function uploadReports(options: UploadReportsOptions): Promise<UploadedArtifact | undefined> {
  const root = resolve(options.rootDirectory);
  const files = [...new Set(options.files.map((f) => (isAbsolute(f) ? f : resolve(root, f))))].filter(
    (f) => existsSync(f) && statSync(f).isFile(),
  );
  if (files.length === 0) return undefined;
  const client = new DefaultArtifactClient();
  const result = await client.uploadArtifact(
    artifactName(options.name),
    files,
    root,
    options.retentionDays === undefined ? {} : { retentionDays: options.retentionDays },
  );
  return { id: result.id, size: result.size, digest: result.digest, files };
}
