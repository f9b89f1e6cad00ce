/** Exit codes of every command (README, "Commands"; docs/ARCHITECTURE.md, "Exit codes and errors"). */
export const ExitCode = {
  ok: 0,
  someFailed: 1,
  badInput: 2,
  stoppedEarly: 3,
} as const;

/** How a run of the engine ends: everything done, some failed, or stopped early. */
export type RunExitCode = typeof ExitCode.ok | typeof ExitCode.someFailed | typeof ExitCode.stoppedEarly;

/** How a run that did not finish ends: a failure a person must fix (1) or a planned stop (3). */
export type StopExitCode = typeof ExitCode.someFailed | typeof ExitCode.stoppedEarly;

/**
 * Bad input or usage: a malformed file, an unknown suspect, a traversal id. Always exit 2 and
 * nothing written. `file` and `field` make the one-line message a user can act on.
 */
export class InputError extends Error {
  override name = 'InputError';
  readonly file: string | undefined;
  readonly field: string | undefined;

  constructor(message: string, options: { file?: string; field?: string; cause?: unknown } = {}) {
    const where = [options.file, options.field].filter(Boolean).join(': ');
    super(where ? `${where}: ${message}` : message, { cause: options.cause });
    this.file = options.file;
    this.field = options.field;
  }
}

/** Several input problems found at once (pre-flight lists them all). */
export class InputErrors extends Error {
  override name = 'InputErrors';
  constructor(readonly problems: InputError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}
