import { hash } from 'node:crypto';
import { readFileSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Case } from '../cases/schema.ts';
import { buildPrompt, PROMPT_TEMPLATE_VERSION } from '../prompts/index.ts';
import { DEFAULT_ART_STYLE, SCENE_TEMPLATE, SUSPECT_TEMPLATE } from '../prompts/templates.ts';
import { removeStaleTemps, writeFileAtomic } from '../util/atomic-write.ts';

/*
 * The scan's index: what parsing each case.json and manifest.json told the scan, keyed by both
 * files' stats, and the stat each image had when a read found it clean, as git's index keeps
 * what it learnt about each file keyed by its stat. A second scan of an unchanged tree then only
 * stats files instead of reading, parsing and validating 20,000 JSON documents, hashing 40,000
 * prompts and reading image heads: also in a fresh clone, where no image has the mtime its
 * manifest stamp recorded (see isTrusted in scan.ts). It is a cache, never a source of truth:
 *
 * - It lives beside git's own index, in `.git/lineup/scan-index.json` (a worktree's own git
 *   directory), where it is never committed, never shows in `git status` and needs no ignore rule;
 *   a tree that is not a git checkout gets none. It is written atomically (temp file, rename) and
 *   is ignored whole when it is not valid JSON of this shape, was written by another index format
 *   or another prompt builder (see `fingerprint`), or cannot be read.
 * - A record is used only when both files still have the recorded size, mtime, ctime and inode
 *   (ctime cannot be set back by `touch -d` or `cp -p`, unlike the image stamps' mtime), and, as
 *   git's "racily clean" rule, only when both files are older than the index itself: a file
 *   changed in the same time step as the one it was read in would otherwise keep its stat.
 * - A file changed less than RECENT_MS before the scan started is not recorded: it could change
 *   again within the same time step after the scan read it, keeping its stat (git smudges such
 *   "racily clean" entries for the same reason). The next scan records it. The same two rules
 *   hold for an image's stat.
 * - Cases that could not be parsed are never recorded: they are parsed (and reported) every time.
 *
 * A fresh checkout (every CI run) has no index, and CI (`CI` or `GITHUB_ACTIONS` set, as GitHub
 * Actions does) neither reads nor writes one, since the next run starts from a fresh checkout
 * again; `LINEUP_SCAN_INDEX=0` turns it off anywhere.
 */

/** Bumped whenever what a record holds, or how the scan derives it, changes. */
const FORMAT = 3;

/**
 * How long a file must have stayed unchanged before the scan for its record to be kept: well over
 * any file time step (a few ms on Linux, 2 s on FAT) and any gap between the file clock and ours.
 */
const RECENT_MS = 5_000;

/** What the scan needs from one manifest entry, with the prompt comparison already made. */
export interface EntryRecord {
  file: string;
  bytes: number;
  mtimeMs: number | undefined;
  placeholder: boolean;
  stale: boolean;
  review: string;
  /** sha256 of the style sheet the image was made with (its provenance), null when none. */
  styleSha: string | null;
  /**
   * The stat `file` had when a scan read it and found an image a stamp could vouch for (see
   * isVouchable in trust.ts); null when none is recorded. Only an index lookup fills it.
   */
  seen: FileKey;
}

/** One case as the scan sees it: its image ids in scan order, and the entries the manifest has for them. */
export interface CaseRecord {
  imageIds: string[];
  entries: Record<string, EntryRecord>;
  /** The case's artStyle, which names its shared style sheet; null when it has none. */
  artStyle: string | null;
}

/** size, mtimeMs, ctimeMs, ino of a file; null when it does not exist. */
export type FileKey = [number, number, number, number] | null;

type StoredEntry = [string, number, number | null, 0 | 1, 0 | 1, string, string | null, FileKey];
type StoredCase = [FileKey, FileKey, string[], Record<string, StoredEntry>, string | null];

export function fileKey(info: Stats | undefined): FileKey {
  return info ? [info.size, info.mtimeMs, info.ctimeMs, info.ino] : null;
}

/**
 * Changes whenever the prompt builder's output could: the template version, the templates' text,
 * buildPrompt's own source, and the prompts of a sample case that uses every field, so an edit to
 * the templates or the builder invalidates the index even without a version bump. (A change deep
 * in a helper of buildPrompt that the sample's prompts do not show would slip through: bump FORMAT
 * with such a change.) Two prompts, once per scan.
 */
function fingerprint(): string {
  const sample: Case = {
    id: 'case-2000-01-01',
    title: 'Fingerprint',
    date: '2000-01-01',
    artStyle: 'ink',
    summary: 'summary',
    scene: {
      description: 'd. ',
      location: 'l',
      timeOfDay: 't',
      weather: 'w',
      mood: 'm',
      clues: ['a', 'b'],
    },
    suspects: [
      {
        id: 'suspect-1',
        name: 'n',
        appearance: 'a\n b',
        age: 40,
        occupation: 'o',
        demeanor: 'd',
        clothing: 'c',
        motive: 'm',
        alibi: 'a',
      },
    ],
  };
  const prompts = ['suspect-1', 'scene'].map((id) => buildPrompt(sample, id).promptHash);
  const templates = [SUSPECT_TEMPLATE, SCENE_TEMPLATE, DEFAULT_ART_STYLE, buildPrompt.toString()];
  return hash('sha256', JSON.stringify([FORMAT, PROMPT_TEMPLATE_VERSION, templates, prompts]), 'hex');
}

function sameKey(a: FileKey, b: unknown): boolean {
  if (a === null || !Array.isArray(b)) return a === b;
  // Unrolled: this runs twice per case on every scan.
  return b.length === 4 && a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function isFileKey(k: unknown): k is FileKey {
  return (
    k === null ||
    (Array.isArray(k) &&
      k.length === 4 &&
      typeof k[0] === 'number' &&
      typeof k[1] === 'number' &&
      typeof k[2] === 'number' &&
      typeof k[3] === 'number')
  );
}

function isStoredEntry(e: unknown): e is StoredEntry {
  return (
    Array.isArray(e) &&
    e.length === 8 &&
    isFileKey(e[7]) &&
    typeof e[0] === 'string' &&
    typeof e[1] === 'number' &&
    (e[2] === null || typeof e[2] === 'number') &&
    (e[3] === 0 || e[3] === 1) &&
    (e[4] === 0 || e[4] === 1) &&
    typeof e[5] === 'string' &&
    (e[6] === null || typeof e[6] === 'string')
  );
}

/** The record, when the stored shape is whole; anything else is a miss. */
function toRecord(stored: StoredCase): CaseRecord | null {
  const [, , imageIds, entries, artStyle] = stored;
  if (!Array.isArray(imageIds) || typeof entries !== 'object' || entries === null) return null;
  if (artStyle !== null && typeof artStyle !== 'string') return null;
  const out: Record<string, EntryRecord> = {};
  for (const id of imageIds) {
    if (typeof id !== 'string') return null;
    const e = Object.hasOwn(entries, id) ? entries[id] : undefined;
    if (e === undefined) continue;
    if (!isStoredEntry(e)) return null;
    out[id] = {
      file: e[0],
      bytes: e[1],
      mtimeMs: e[2] ?? undefined,
      placeholder: e[3] === 1,
      stale: e[4] === 1,
      review: e[5],
      styleSha: e[6],
      seen: e[7],
    };
  }
  return { imageIds, entries: out, artStyle };
}

function toStored(caseKey: FileKey, manifestKey: FileKey, record: CaseRecord): StoredCase {
  const entries: Record<string, StoredEntry> = {};
  for (const [id, e] of Object.entries(record.entries)) {
    entries[id] = [
      e.file,
      e.bytes,
      e.mtimeMs ?? null,
      e.placeholder ? 1 : 0,
      e.stale ? 1 : 0,
      e.review,
      e.styleSha,
      e.seen,
    ];
  }
  return [caseKey, manifestKey, record.imageIds, entries, record.artStyle];
}

/** Whether the file's last change (mtime and ctime) is before `ms`; true for a missing file. */
function changedBefore(key: FileKey, ms: number): boolean {
  return key === null || (key[1] < ms && key[2] < ms);
}

export class ScanIndex {
  private readonly old: Record<string, unknown>;
  private readonly fresh = new Map<string, StoredCase>();
  private changed = false;

  private constructor(
    private readonly path: string,
    private readonly print: string,
    old: Record<string, unknown>,
    private readonly oldMtimeMs: number,
    /** Files changed from then on are not recorded (see RECENT_MS). */
    private readonly recentFrom: number,
  ) {
    this.old = old;
  }

  /** The index in `path`, empty when there is none or it cannot be used; `now` is when the scan starts. */
  static open(path: string, now: number): ScanIndex {
    const recentFrom = now - RECENT_MS;
    const print = fingerprint();
    try {
      const mtimeMs = statSync(path).mtimeMs;
      const data = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (
        typeof data === 'object' &&
        data !== null &&
        (data as Record<string, unknown>).fingerprint === print &&
        typeof (data as Record<string, unknown>).cases === 'object' &&
        (data as Record<string, unknown>).cases !== null
      ) {
        return new ScanIndex(
          path,
          print,
          (data as { cases: Record<string, unknown> }).cases,
          mtimeMs,
          recentFrom,
        );
      }
    } catch {
      // No index, or an unreadable or torn one: start empty.
    }
    return new ScanIndex(path, print, {}, 0, recentFrom);
  }

  /** The recorded case, when both files are unchanged and settled; null otherwise. */
  lookup(caseId: string, caseKey: FileKey, manifestKey: FileKey): CaseRecord | null {
    const stored = Object.hasOwn(this.old, caseId) ? this.old[caseId] : undefined;
    if (!Array.isArray(stored) || stored.length !== 5) return null;
    if (!sameKey(caseKey, stored[0]) || !sameKey(manifestKey, stored[1])) return null;
    // Racily clean: only files changed before the index was written.
    if (!changedBefore(caseKey, this.oldMtimeMs) || !changedBefore(manifestKey, this.oldMtimeMs)) return null;
    const record = toRecord(stored as StoredCase);
    if (record) this.fresh.set(caseId, stored as StoredCase);
    return record;
  }

  /** Remembers what parsing the case gave, for the next scan, unless a file changed just before. */
  store(caseId: string, caseKey: FileKey, manifestKey: FileKey, record: CaseRecord): void {
    if (!changedBefore(caseKey, this.recentFrom) || !changedBefore(manifestKey, this.recentFrom)) return;
    this.fresh.set(caseId, toStored(caseKey, manifestKey, record));
    this.changed = true;
  }

  /**
   * Whether the image file's stat is the one a read found clean (`entry.seen`, from a lookup) and
   * it was unchanged when the index was written. Allocates nothing: it runs for every image.
   */
  trustsImage(entry: EntryRecord, info: Stats): boolean {
    const seen = entry.seen;
    return (
      seen !== null &&
      seen[0] === info.size &&
      seen[1] === info.mtimeMs &&
      seen[2] === info.ctimeMs &&
      seen[3] === info.ino &&
      changedBefore(seen, this.oldMtimeMs)
    );
  }

  /**
   * Remembers, with the case's record, the stat `info` the image file had before a read found it
   * clean, or forgets the one recorded (`info` null: the read found something). Kept only while
   * the case's record is, and not for a file changed just before the scan (see RECENT_MS).
   */
  seenImage(caseId: string, imageId: string, info: Stats | null): void {
    const stored = this.fresh.get(caseId)?.[3];
    const entry = stored && Object.hasOwn(stored, imageId) ? stored[imageId] : undefined;
    if (!entry) return;
    const key = info && fileKey(info);
    const kept = key && changedBefore(key, this.recentFrom) ? key : null;
    if (kept === null && entry[7] === null) return;
    entry[7] = kept;
    this.changed = true;
  }

  /**
   * Writes the index when this scan learnt something or (a full scan) some cases are gone. A scan
   * of some cases keeps the other records. Best effort: a cache that cannot be written is skipped.
   */
  async save(fullScan: boolean): Promise<void> {
    const oldIds = Object.keys(this.old);
    const gone = fullScan && oldIds.some((id) => !this.fresh.has(id));
    if (!this.changed && !gone) return;
    const cases: Record<string, unknown> = fullScan ? {} : { ...this.old };
    for (const [id, stored] of this.fresh) cases[id] = stored;
    try {
      await writeFileAtomic(this.path, JSON.stringify({ format: FORMAT, fingerprint: this.print, cases }));
      await removeStaleTemps(dirname(this.path));
    } catch {
      // Best effort: a cache that cannot be written is skipped (writeFileAtomic removes its temp file).
    }
  }
}

/** The git directory of a checkout whose top is `root` (a worktree's `.git` file points to it); null when none. */
function gitDir(root: string): string | null {
  const dotGit = `${root}/.git`;
  try {
    const info = statSync(dotGit, { throwIfNoEntry: false });
    if (info?.isDirectory()) return dotGit;
    if (!info?.isFile()) return null;
    const pointer = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1];
    return pointer ? resolve(root, pointer.trim()) : null;
  } catch {
    return null;
  }
}

/**
 * Where scans of `root` keep their index unless told otherwise: in the checkout's git directory;
 * none in CI (`CI` or `GITHUB_ACTIONS` set), when `LINEUP_SCAN_INDEX=0`, or outside a git checkout.
 */
export function defaultIndexFile(root: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CI || env.GITHUB_ACTIONS === 'true' || env.LINEUP_SCAN_INDEX === '0') return null;
  const git = gitDir(root);
  return git === null ? null : `${git}/lineup/scan-index.json`;
}
