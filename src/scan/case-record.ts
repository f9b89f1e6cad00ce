import { closeSync, fstatSync, openSync, type Stats, statSync } from 'node:fs';
import { parseCase } from '../cases/case-store.ts';
import { parseManifest } from '../cases/manifest-store.ts';
import type { Case, Manifest, ManifestEntry } from '../cases/schema.ts';
import { InputError } from '../errors.ts';
import { buildPrompt } from '../prompts/index.ts';
import { recordedStyleSha } from '../styles/style-sheet.ts';
import { displayPath } from '../util/read-json.ts';
import { quickCase, quickManifest } from './quick-parse.ts';
import { readFully } from './read-head.ts';
import { type CaseRecord, type EntryRecord, fileKey, type ScanIndex } from './scan-index.ts';

/*
 * What the scan knows of one case before it looks at any image: its image ids and, per manifest
 * entry, what the scan needs (CaseRecord), read and parsed from case.json and manifest.json, or
 * taken from the scan index while both files keep their stat (see scan-index.ts).
 */

/** An entry as the scan needs it; `promptError` when building its prompt failed (never indexed). */
export type ScanEntry = EntryRecord & { promptError?: unknown };

/** Reused for every read: case.json and manifest.json files are a few KiB. */
const SHARED = Buffer.allocUnsafe(64 * 1024);

function unreadable(path: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(`cannot be read (${code ?? 'error'})`, { file: displayPath(path) });
}

/** Reads the whole file, its stat from the same open: the manifest's mtime then costs no stat of its own. */
function readOpen(fd: number): { text: string; mtimeMs: number } {
  const info = fstatSync(fd);
  const bytes = readFully(fd, info.size, 0, SHARED);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return { text, mtimeMs: info.mtimeMs };
}

/** The text and mtime of a file, or null when it does not exist. */
function readTextSync(path: string): { text: string; mtimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw unreadable(path, error);
  }
  try {
    return readOpen(fd);
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    closeSync(fd);
  }
}

/** JSON.parse, or undefined when the text is not JSON (the schema's parse then words the error). */
function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/*
 * case.json and manifest.json are read synchronously for the same reason as the image heads (see
 * read-head.ts). A document the quick check is sure of is used as parsed; anything else goes
 * through the same parseCase / parseManifest as readCase and readManifest, so every problem is
 * worded the same way (see quick-parse.ts).
 */
function loadCase(dir: string, caseId: string): Case | null {
  const file = `${dir}/case.json`;
  const read = readTextSync(file);
  if (read === null) return null;
  return quickCase(tryJson(read.text), caseId) ?? parseCase(read.text, caseId, file);
}

/** The manifest and its mtime (0 when there is none). */
function loadManifest(dir: string, caseId: string): { manifest: Manifest; mtimeMs: number } {
  const file = `${dir}/images/manifest.json`;
  const read = readTextSync(file);
  if (read === null) return { manifest: { caseId, images: {} }, mtimeMs: 0 };
  const manifest = quickManifest(tryJson(read.text), caseId) ?? parseManifest(read.text, caseId, file);
  return { manifest, mtimeMs: read.mtimeMs };
}

/** What the scan keeps of one manifest entry, with today's prompt already compared. */
function entryRecord(data: Case, imageId: string, entry: ManifestEntry): ScanEntry {
  const out: ScanEntry = {
    file: entry.file,
    bytes: entry.bytes,
    mtimeMs: entry.mtimeMs,
    placeholder: entry.provider === 'placeholder',
    stale: false,
    review: entry.review.status,
    styleSha: recordedStyleSha(entry) ?? null,
    seen: null,
  };
  try {
    out.stale = entry.promptHash !== buildPrompt(data, imageId).promptHash;
  } catch (error) {
    out.promptError = error;
  }
  return out;
}

/** A case's record (null when there is no case.json) and its manifest's mtime (0 when it has none). */
export interface ReadRecord {
  record: CaseRecord | null;
  manifestMtimeMs: number;
}

/** Reads and parses both files of a case. */
export function readRecord(dir: string, caseId: string): ReadRecord {
  const data = loadCase(dir, caseId);
  if (!data) return { record: null, manifestMtimeMs: 0 };
  const { manifest, mtimeMs } = loadManifest(dir, caseId);
  const imageIds = data.suspects.map((s) => s.id);
  imageIds.push('scene');
  const entries: Record<string, ScanEntry> = {};
  for (const imageId of imageIds) {
    const entry = Object.hasOwn(manifest.images, imageId) ? manifest.images[imageId] : undefined;
    if (entry) entries[imageId] = entryRecord(data, imageId, entry);
  }
  return { record: { imageIds, entries, artStyle: data.artStyle ?? null }, manifestMtimeMs: mtimeMs };
}

/** Records whose prompts all built; a failing one is left out of the index, so it fails every scan. */
function indexable(record: CaseRecord): boolean {
  return Object.values(record.entries).every((e: ScanEntry) => e.promptError === undefined);
}

/** The file's stat; undefined when it does not exist; 'error' when it cannot be stat-ed (EACCES, ELOOP). */
function statOrError(path: string): Stats | undefined | 'error' {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return 'error';
  }
}

/**
 * The case's record from the index when both files' stats match it; else read and parsed (and
 * offered to the index). `manifestMtimeMs` is then the stat taken before reading.
 */
export function recordThroughIndex(index: ScanIndex, dir: string, caseId: string): ReadRecord {
  // Stat before reading: a change after the stat then shows as a new stat next time.
  const caseInfo = statOrError(`${dir}/case.json`);
  if (!caseInfo) return { record: null, manifestMtimeMs: 0 };
  const manifestInfo = statOrError(`${dir}/images/manifest.json`);
  // A failed stat, or anything but plain files, takes the ordinary path, which words the error.
  if (caseInfo === 'error' || manifestInfo === 'error') return readRecord(dir, caseId);
  if (!caseInfo.isFile() || (manifestInfo && !manifestInfo.isFile())) return readRecord(dir, caseId);
  const caseKey = fileKey(caseInfo);
  const manifestKey = fileKey(manifestInfo);
  const manifestMtimeMs = manifestInfo?.mtimeMs ?? 0;
  const cached = index.lookup(caseId, caseKey, manifestKey);
  if (cached) return { record: cached, manifestMtimeMs };
  const { record } = readRecord(dir, caseId);
  if (record && indexable(record)) index.store(caseId, caseKey, manifestKey, record);
  return { record, manifestMtimeMs };
}
