import { ExitCode, InputError, InputErrors } from '../errors.ts';
import { errorMessage } from '../util/error-message.ts';

/**
 * The one top-level catch of every script: bad input is exit 2 with one line per problem;
 * anything else is reported without a stack unless LINEUP_DEBUG is set.
 */
export async function runCommand(main: (signal: AbortSignal) => Promise<number>): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nStopping after the images in flight (Ctrl-C again to quit at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await main(controller.signal);
  } catch (error) {
    if (error instanceof InputErrors) {
      for (const p of error.problems) process.stderr.write(`error: ${p.message}\n`);
      process.exitCode = ExitCode.badInput;
    } else if (error instanceof InputError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = ExitCode.badInput;
    } else {
      const message = errorMessage(error);
      process.stderr.write(`error: ${message}\n`);
      if (process.env.LINEUP_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = ExitCode.someFailed;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
