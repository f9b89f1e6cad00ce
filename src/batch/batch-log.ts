import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function logFile(root: string, batchId: string): string {
  return join(root, 'reports', 'logs', `${batchId}.log`);
}

/** The log line (README, "The seed: what lineup replaces"): `2025-01-19T10:02:15Z [batch-001] PROGRESS: 1/4 (25%) - suspect-1 complete`. */
function formatLogLine(at: number, batchId: string, level: string, message: string): string {
  const time = `${new Date(at).toISOString().slice(0, 19)}Z`;
  return `${time} [${batchId}] ${level}: ${message}`;
}

/**
 * Appends log lines in order. Appends are chained so lines from concurrent workers never
 * interleave; `flush` waits for all of them.
 */
export class BatchLog {
  private chain: Promise<void> = Promise.resolve();
  readonly lines: string[] = [];

  constructor(
    readonly file: string,
    private readonly echo?: (line: string) => void,
  ) {
    this.chain = mkdir(dirname(file), { recursive: true }).then(() => undefined);
  }

  write(at: number, batchId: string, level: string, message: string): void {
    const line = formatLogLine(at, batchId, level, message);
    this.lines.push(line);
    this.echo?.(line);
    this.chain = this.chain.then(() => appendFile(this.file, `${line}\n`));
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
