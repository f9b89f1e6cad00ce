import type { Output } from '../../src/cli/terminal-reporter.ts';

/** An Output that records what a command prints: `lines` holds both streams (stderr marked ERR). */
export function captureOutput(): Output & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (l) => lines.push(l),
    err: (l) => {
      errors.push(l);
      lines.push(`ERR ${l}`);
    },
    isTTY: false,
  };
}
