import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { PlanItem } from '../src/batch/plan.ts';
import type { BatchSummary } from '../src/batch/types.ts';
import { type Output, terminalEvents } from '../src/cli/terminal-reporter.ts';
import type { GenerationFailure } from '../src/providers/types.ts';

/**
 * The progress bar is cli-progress's SingleBar with its default `stream`, process.stderr; it draws
 * only when that stream says it is a TTY. The test makes both standard streams look like a
 * terminal, captures their writes, and drives the clock (Date and the bar's redraw timer) by hand.
 */

const T0 = Date.UTC(2025, 0, 19, 10);
type StreamName = 'stdout' | 'stderr';

interface Captured {
  stream: StreamName;
  text: string;
}

let writes: Captured[] = [];
const savedTTY = new Map<StreamName, PropertyDescriptor | undefined>();

function capture(name: StreamName): void {
  const stream = process[name];
  savedTTY.set(name, Object.getOwnPropertyDescriptor(stream, 'isTTY'));
  Object.defineProperty(stream, 'isTTY', { value: true, configurable: true, writable: true });
  vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => {
    writes.push({ stream: name, text: String(chunk) });
    return true;
  }) as typeof stream.write);
}

function release(): void {
  vi.restoreAllMocks();
  for (const [name, descriptor] of savedTTY) {
    if (descriptor) Object.defineProperty(process[name], 'isTTY', descriptor);
    else delete (process[name] as { isTTY?: boolean }).isTTY;
  }
  savedTTY.clear();
}

beforeEach(() => {
  writes = [];
  vi.useFakeTimers({
    now: T0,
    toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
  });
});

afterEach(() => {
  release();
  vi.useRealTimers();
});

function item(imageId: string): PlanItem {
  return {
    type: imageId === 'scene' ? 'scene' : 'suspect',
    caseId: 'case-2025-01-19',
    ...(imageId === 'scene' ? {} : { suspectId: imageId }),
    key: `case-2025-01-19/${imageId}`,
    imageId,
    prompt: `a picture of ${imageId}`,
    promptHash: '0'.repeat(16),
    aspectRatio: imageId === 'scene' ? '16:9' : '3:4',
  };
}

/** The reporter ignores the summary's contents; only the call matters. */
const summary = { batchId: 'batch-2025-01-19-001' } as BatchSummary;

function recorder(isTTY: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY };
  return { output, out, err };
}

/** The bar's lines as drawn, escape sequences removed: each redraw is one write of the whole line. */
function frames(): string[] {
  return writes.map((w) => stripVTControlCharacters(w.text)).filter((t) => t.includes(' | elapsed '));
}

/** Lets the bar's redraw timer (100 ms) fire and moves the clock on. */
function advance(ms: number): void {
  vi.advanceTimersByTime(ms);
}

describe('terminalEvents in a terminal', () => {
  test('draws current/total, percent, the current image, elapsed and ETA', () => {
    const { output, out, err } = recorder(true);
    // Before the bar is made: it reads its stream's isTTY when constructed (redraw rate).
    capture('stdout');
    capture('stderr');
    let events: ReturnType<typeof terminalEvents> = {};
    try {
      events = terminalEvents(output, false);
      // In a terminal the bar replaces the log lines.
      expect(events.log).toBeUndefined();
      events.start?.({ batchId: summary.batchId, total: 4, done: 0, toDo: 4 });
      advance(200);
      events.imageStart?.(item('suspect-1'), 1);
      advance(200);
      // suspect-1 took 3 s: at that rate the 3 images left take 9 s.
      vi.setSystemTime(T0 + 3000);
      events.imageDone?.(item('suspect-1'), { done: 1, total: 4 });
      advance(200);
      events.imageStart?.(item('suspect-2'), 1);
      advance(200);
      const failure: GenerationFailure = {
        ok: false,
        errorType: 'api_error',
        reason: 'http',
        message: 'HTTP 503 UNAVAILABLE',
      };
      events.imageRetry?.(item('suspect-2'), failure, 4500);
      advance(200);
      events.imageStart?.(item('suspect-2'), 2);
      advance(200);
      vi.setSystemTime(T0 + 8000);
      events.imageDone?.(item('suspect-2'), { done: 2, total: 4 });
      advance(200);
      events.imageFailed?.(item('scene'), { ...failure, errorType: 'validation', message: 'no image' });
      advance(200);
      events.finish?.(summary);
    } finally {
      release();
    }

    const drawn = frames();
    // Every redraw went to one stream (today cli-progress's default, stderr), none to the Output's out.
    const barStreams = new Set(writes.filter((w) => w.text.includes(' | elapsed ')).map((w) => w.stream));
    expect(barStreams.size).toBe(1);
    expect(out).toEqual([]);

    const bar = '[\u2588\u2591]{40}';
    expect(drawn[0]).toMatch(new RegExp(`^ ${bar} 0/4 0% \\| starting \\| elapsed 0s \\| ETA 0s$`));
    expect(drawn).toContainEqual(
      expect.stringMatching(/ 0\/4 0% \| case-2025-01-19\/suspect-1 \| elapsed 0s \| /),
    );
    expect(drawn).toContainEqual(
      expect.stringMatching(new RegExp(`^ ${bar} 1/4 25% \\| suspect-1 done \\| elapsed 3s \\| ETA 9s$`)),
    );
    expect(drawn).toContainEqual(
      expect.stringMatching(/ 1\/4 25% \| case-2025-01-19\/suspect-2 \| elapsed 3s \| ETA 9s$/),
    );
    expect(drawn).toContainEqual(expect.stringMatching(/ 1\/4 25% \| suspect-2: api_error, retry in 5s \| /));
    expect(drawn).toContainEqual(
      expect.stringMatching(/ 1\/4 25% \| case-2025-01-19\/suspect-2 \(attempt 2\) \| elapsed 4s \| ETA 9s$/),
    );
    // Two images in 8 s: the two left take 8 s more.
    expect(drawn).toContainEqual(
      expect.stringMatching(/ 2\/4 50% \| suspect-2 done \| elapsed 8s \| ETA 8s$/),
    );
    expect(drawn.at(-1)).toMatch(/ 2\/4 50% \| scene failed \| elapsed 8s \| ETA 8s$/);
    // The bar is half full at 2/4.
    expect(drawn.at(-1)).toMatch(/^ \u2588{20}\u2591{20} /);
    // A failure is also said in words, on the error output, on a line of its own.
    expect(err).toEqual(['\ncase-2025-01-19/scene failed: no image']);
    // finish() stops the bar: the line is ended and the cursor shown again.
    const onBarStream = writes.filter((w) => barStreams.has(w.stream)).map((w) => w.text);
    const shown = onBarStream.lastIndexOf('\u001B[?25h');
    expect(shown).toBeGreaterThan(0);
    expect(onBarStream.at(-1)).toBe('\n');
  });

  test('a resumed batch starts the bar at what is already done', () => {
    const { output } = recorder(true);
    capture('stdout');
    capture('stderr');
    try {
      const events = terminalEvents(output, false);
      events.start?.({ batchId: summary.batchId, total: 8, done: 6, toDo: 2 });
      advance(200);
      events.finish?.(summary);
    } finally {
      release();
    }
    expect(frames()[0]).toMatch(/ 6\/8 75% \| starting \| elapsed 0s \| ETA /);
  });

  test('finish without start draws nothing', () => {
    const { output } = recorder(true);
    capture('stdout');
    capture('stderr');
    try {
      const events = terminalEvents(output, false);
      events.finish?.(summary);
    } finally {
      release();
    }
    expect(writes).toEqual([]);
  });
});

describe('terminalEvents elsewhere', () => {
  test('not a terminal: the log lines go to out, and no bar is drawn', () => {
    const { output, out } = recorder(false);
    capture('stdout');
    capture('stderr');
    try {
      const events = terminalEvents(output, false);
      events.log?.('2025-01-19T10:00:00Z [batch-2025-01-19-001] START: 4 image(s)');
      expect(events.start).toBeUndefined();
      expect(events.imageDone).toBeUndefined();
    } finally {
      release();
    }
    expect(out).toEqual(['2025-01-19T10:00:00Z [batch-2025-01-19-001] START: 4 image(s)']);
    expect(writes).toEqual([]);
  });

  test('quiet (--json): neither log lines nor a bar', () => {
    const { output } = recorder(true);
    expect(terminalEvents(output, true)).toEqual({});
  });
});
