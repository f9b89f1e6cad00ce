import cliProgress from 'cli-progress';
import type { BatchEvents } from '../batch/events.ts';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
}

export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  // The bar draws on stderr (stdout stays clean for --json and pipes), so stderr decides.
  isTTY: Boolean(process.stderr.isTTY),
};

/**
 * In a terminal: a progress bar with current/total, percent, current image, elapsed and ETA;
 * elsewhere (CI logs): the log lines (README, "What a run leaves behind"). `quiet` (for --json) prints neither.
 */
export function terminalEvents(output: Output, quiet: boolean): BatchEvents {
  if (quiet) return {};
  if (!output.isTTY) return { log: (line) => output.out(line) };
  const bar = new cliProgress.SingleBar(
    {
      format:
        ' {bar} {value}/{total} {percentage}% | {image} | elapsed {duration_formatted} | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 5,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start: ({ total, done }) => {
      bar.start(total, done, { image: 'starting' });
      started = true;
    },
    imageStart: (item, attempt) =>
      bar.update({ image: `${item.caseId}/${item.imageId}${attempt > 1 ? ` (attempt ${attempt})` : ''}` }),
    imageDone: (item, { done }) => bar.update(done, { image: `${item.imageId} done` }),
    imageRetry: (item, failure, delayMs) =>
      bar.update({ image: `${item.imageId}: ${failure.errorType}, retry in ${Math.ceil(delayMs / 1000)}s` }),
    imageFailed: (item, failure) => {
      bar.update({ image: `${item.imageId} failed` });
      output.err(`\n${item.caseId}/${item.imageId} failed: ${failure.message}`);
    },
    finish: () => {
      if (started) bar.stop();
    },
  };
}
