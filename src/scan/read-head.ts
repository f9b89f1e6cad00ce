import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type ImageHeader, readImageHeader } from '../images/inspect.ts';

/*
 * Synchronous on purpose. The scan reads a few KiB from tens of thousands of small files; through
 * the 4-thread libuv pool each read costs a round trip that dwarfs the read itself (measured: 40,000
 * async open/read/close took 1.7 s, the same synchronous calls 0.4 s). The scan yields to the event
 * loop between small groups of cases instead, so signals and timers still get through.
 */
export function readFully(fd: number, length: number, position: number, into?: Uint8Array): Uint8Array {
  const buffer = into && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Enough for a PNG's IHDR and the chunks before IDAT, and for most JPEG frame headers. */
const FIRST_HEAD = 4096;
/** JPEG frame headers can sit behind large EXIF/ICC segments; these bound how far we look. */
const LONGER_HEADS = [65_536, 1_048_576] as const;
const TAIL = 64;
/** Reused for every first read: 40,000 fresh 4 KiB buffers per scan were a fifth of its time in GC. */
const SHARED_HEAD = new Uint8Array(FIRST_HEAD);

export interface FileFacts {
  size: number;
  /** The first bytes; valid only until the next readFileFacts call (the buffer is reused). */
  head: Uint8Array;
  header: ImageHeader | null;
  /** Why the file is not a complete image, judged from header and tail only; null when it looks whole. */
  problem: string | null;
}

function ascii(b: Uint8Array, text: string): number {
  outer: for (let i = b.length - text.length; i >= 0; i--) {
    for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) continue outer;
    return i;
  }
  return -1;
}

function u32le(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

/** A cut-off download or a half-written file keeps a valid header, so the end is checked too. */
function tailProblem(header: ImageHeader, head: Uint8Array, tail: Uint8Array, size: number): string | null {
  switch (header.mimeType) {
    case 'image/png':
      return ascii(tail, 'IEND') >= 0 ? null : 'truncated PNG: no IEND chunk at the end';
    case 'image/jpeg': {
      let end = tail.length;
      while (end > 2 && tail[end - 1] === 0x00) end--;
      return tail[end - 2] === 0xff && tail[end - 1] === 0xd9
        ? null
        : 'truncated JPEG: no end-of-image marker';
    }
    case 'image/webp': {
      const riffEnd = u32le(head, 4) + 8;
      return size >= riffEnd ? null : `truncated WebP: RIFF says ${riffEnd} bytes, file has ${size}`;
    }
  }
}

/** Reads `length` bytes at `position` (fewer at the end of the file); `into` may be reused. */
type ReadAt = (length: number, position: number, into?: Uint8Array) => Uint8Array;

/**
 * The facts from a source of bytes: the same few reads whether the bytes are a file on disk (the
 * scan) or an image still in memory (saving it, to know whether the scan may trust it later).
 * A short first read means the whole file is in hand; only bigger files pay for `sizeOf`.
 */
function factsFrom(readAt: ReadAt, sizeOf: () => number): FileFacts {
  let head = readAt(FIRST_HEAD, 0, SHARED_HEAD);
  const size = head.length < FIRST_HEAD ? head.length : sizeOf();
  if (size === 0) return { size, head, header: null, problem: 'empty file' };
  let header = readImageHeader(head);
  for (const longer of LONGER_HEADS) {
    if (header || head.length >= size || head[0] !== 0xff) break;
    head = readAt(Math.min(longer, size), 0);
    header = readImageHeader(head);
  }
  if (!header) return { size, head, header, problem: 'not a PNG, JPEG or WebP image with a valid header' };
  const tail = size <= head.length ? head.subarray(Math.max(0, size - TAIL)) : readAt(TAIL, size - TAIL);
  return { size, head, header, problem: tailProblem(header, head, tail, size) };
}

/**
 * Size, header and a whole-file sanity check from at most a few reads at the start and end of the
 * file. `knownSize` is the size a stat just gave (the scan takes one), which saves the fstat.
 */
export function readFileFacts(path: string, knownSize?: number): FileFacts {
  const fd = openSync(path, 'r');
  try {
    return factsFrom(
      (length, position, into) => readFully(fd, length, position, into),
      () => knownSize ?? fstatSync(fd).size,
    );
  } finally {
    closeSync(fd);
  }
}

/** What readFileFacts would say about a file holding exactly these bytes. */
export function bytesFacts(bytes: Uint8Array): FileFacts {
  return factsFrom(
    (length, position) => bytes.subarray(position, Math.min(bytes.length, position + length)),
    () => bytes.length,
  );
}
