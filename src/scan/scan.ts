import { existsSync, readdirSync, type Stats, statSync } from 'node:fs';
import { readCase } from '../cases/case-store.ts';
import { isCaseId } from '../cases/ids.ts';
import { caseDir, casesDir, EXTENSION_FOR_MIME } from '../cases/paths.ts';
import { InputError } from '../errors.ts';
import type { PlannedImage } from '../images/types.ts';
import { isPlaceholderPng } from '../providers/placeholder.ts';
import { ScanStyleSheets } from '../styles/style-sheet.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { readRecord, recordThroughIndex, type ScanEntry } from './case-record.ts';
import { type FileFacts, readFileFacts } from './read-head.ts';
import { type CaseRecord, defaultIndexFile, type EntryRecord, ScanIndex } from './scan-index.ts';
import { isVouchable } from './trust.ts';

/**
 * What the scan can say about one image. The first five mean "generate it (again)"; `unrecorded`
 * (a file the manifest does not know, perhaps placed by hand) and `awaiting-review` (a person's
 * job, not a generator's) are reported but never regenerated.
 */
export type FindingKind =
  | 'missing'
  | 'empty'
  | 'corrupt'
  | 'placeholder'
  | 'stale'
  | 'unrecorded'
  | 'awaiting-review';

export const REGENERATE_KINDS: ReadonlySet<FindingKind> = new Set([
  'missing',
  'empty',
  'corrupt',
  'placeholder',
  'stale',
]);

export interface ImageStatus {
  caseId: string;
  imageId: string;
  type: 'suspect' | 'scene';
  suspectId?: string;
  /** File name inside the case's images/ directory, null when there is none. */
  file: string | null;
  findings: FindingKind[];
  /** Human-readable reasons, one per finding that has more to say than its name. */
  details: string[];
}

export interface CaseProblem {
  caseId: string;
  message: string;
}

export interface ScanReport {
  cases: number;
  /** Every image of every readable case, clean ones included (findings empty). */
  images: ImageStatus[];
  /** Cases that could not be scanned (invalid case.json or manifest); the rest of the scan goes on. */
  problems: CaseProblem[];
}

export function needsGeneration(image: ImageStatus): boolean {
  return image.findings.some((f) => REGENERATE_KINDS.has(f));
}

/** The images the scan says to (re)generate, in scan order, as batch-engine input. */
export function imagesToGenerate(report: ScanReport): PlannedImage[] {
  return report.images
    .filter(needsGeneration)
    .map((i) =>
      i.type === 'scene'
        ? { type: 'scene', caseId: i.caseId }
        : { type: 'suspect', caseId: i.caseId, suspectId: i.suspectId ?? i.imageId },
    );
}

const EXTENSIONS = Object.values(EXTENSION_FOR_MIME);

/** The facts of `file` in `dir`, or null when it is not there. */
function openImage(dir: string, file: string, knownSize?: number): { file: string; facts: FileFacts } | null {
  try {
    // Plain concatenation: path.join was a measurable share of a 40,000-image scan.
    return { file, facts: readFileFacts(`${dir}/${file}`, knownSize) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

/**
 * The image's file and what its first and last bytes say: the file the manifest names if it is
 * there, else the first known extension found. No directory listing is needed: the name the
 * manifest gives is opened directly (opening is its existence test) unless its stat (`named`, see
 * namedStat) found nothing there; the other names are looked for first, because a failed open
 * throws, and an exception costs as much as a few stats (a backfill has hundreds of missing images).
 */
function findImage(
  dir: string,
  imageId: string,
  entry: EntryRecord | undefined,
  named: Stats | null | undefined,
): { file: string; facts: FileFacts } | null {
  const listed =
    entry && EXTENSIONS.some((ext) => entry.file === `${imageId}.${ext}`) ? entry.file : undefined;
  if (listed !== undefined && named !== null) {
    const found = openImage(dir, listed, named?.size);
    if (found) return found;
  }
  for (const ext of EXTENSIONS) {
    const file = `${imageId}.${ext}`;
    if (file === listed || !existsSync(`${dir}/${file}`)) continue;
    const found = openImage(dir, file);
    if (found) return found;
  }
  return null;
}

/**
 * The stat of the file the manifest names for the image, when a stamp or the index could vouch
 * for it: null when there is no such file, undefined when it was not looked at. A file named for
 * another image (a hand-edited manifest) is left to findImage, which ignores it.
 */
function namedStat(
  files: CaseFiles,
  imageId: string,
  entry: EntryRecord | undefined,
): Stats | null | undefined {
  if (!entry || !files.trust || !entry.file.startsWith(`${imageId}.`)) return undefined;
  if (entry.mtimeMs === undefined && !files.index) return undefined;
  const info = statSync(`${files.dir}/${entry.file}`, { throwIfNoEntry: false });
  if (!info) return null;
  // Anything but a plain file is opened, which words the error.
  return info.isFile() ? info : undefined;
}

/**
 * Whether the scan may skip reading the image: the file the manifest names has the size and mtime
 * saveImage stamped right after writing it (only clean images are stamped, see trust.ts), as git's
 * index trusts a file whose stat it recorded; or the scan index holds its stat from a read that
 * found it clean (a fresh clone gives every file a new mtime, so there no stamp matches; see
 * scan-index.ts).
 *
 * The racy case: a file replaced by another of the same size within the same mtime tick (file
 * times on Linux move in coarse steps of a few ms) would match the stamp. As in git's "racily
 * clean" rule, an image whose stamped mtime is not older than the manifest's own mtime is read
 * anyway: any change after the manifest was written gets an mtime at least the manifest's, so it
 * can no longer equal the stamp. What stays trusted is a replacement of the same size whose mtime
 * was set back to the stamp on purpose (`touch -d`, `cp -p`, `rsync -t`): git's index also
 * compares ctime and the inode to catch that, as the scan index does; the stamp leaves them out
 * to stay one small field, and `validate-case` compares every file's sha256 and finds it.
 */
function isTrusted(files: CaseFiles, entry: EntryRecord, info: Stats): boolean {
  const stamped =
    entry.mtimeMs !== undefined &&
    info.size === entry.bytes &&
    info.mtimeMs === entry.mtimeMs &&
    entry.mtimeMs < files.manifestMtimeMs;
  return stamped || (files.index?.trustsImage(entry, info) ?? false);
}

function newStatus(caseId: string, imageId: string): ImageStatus {
  return imageId === 'scene'
    ? { caseId, imageId, type: 'scene', file: null, findings: [], details: [] }
    : { caseId, imageId, type: 'suspect', suspectId: imageId, file: null, findings: [], details: [] };
}

interface CaseFiles {
  caseId: string;
  record: CaseRecord;
  /** The case's images/ directory. */
  dir: string;
  /** The manifest file's mtime; 0 when there is none. */
  manifestMtimeMs: number;
  trust: boolean;
  /** The scan index, when this scan keeps one and trusts recorded facts. */
  index: ScanIndex | null;
  /** sha256 of the case's style sheet, undefined when it has none. */
  styleSha: string | undefined;
}

/** A module-level function, not a closure per image: 40,000 closures showed in the scan's profile. */
function add(status: ImageStatus, kind: FindingKind, detail?: string): void {
  status.findings.push(kind);
  if (detail) status.details.push(detail);
}

function inspectImage(files: CaseFiles, imageId: string): ImageStatus {
  const { dir } = files;
  const status = newStatus(files.caseId, imageId);
  const entry: ScanEntry | undefined = files.record.entries[imageId];
  const info = namedStat(files, imageId, entry);
  if (entry && info && isTrusted(files, entry, info)) {
    // What reading it would say: a clean image, a placeholder only by the manifest's word.
    status.file = entry.file;
    if (entry.placeholder) add(status, 'placeholder');
  } else {
    const found = findImage(dir, imageId, entry, info);
    if (info && files.index) {
      const clean = found !== null && found.file === entry?.file && isVouchable(found.file, found.facts);
      files.index.seenImage(files.caseId, imageId, clean ? info : null);
    }
    if (!found) {
      add(status, 'missing', entry ? `the manifest lists ${entry.file} but there is no file` : undefined);
      return status;
    }
    const { file, facts } = found;
    status.file = file;
    if (facts.size === 0) add(status, 'empty');
    else if (facts.problem) add(status, 'corrupt', facts.problem);
    else if (facts.header && !file.endsWith(`.${EXTENSION_FOR_MIME[facts.header.mimeType]}`)) {
      add(status, 'corrupt', `${file} holds ${facts.header.mimeType} data`);
    }
    if (entry?.placeholder || isPlaceholderPng(facts.head)) add(status, 'placeholder');
    if (!entry) {
      add(status, 'unrecorded', `${file} is not in manifest.json`);
      return status;
    }
  }
  // A prompt that cannot be built (too long: the schema's limits prevent it today) fails the case
  // here, where it is first needed, as it did before prompts were compared up front.
  if (entry.promptError !== undefined) throw entry.promptError;
  if (entry.stale) add(status, 'stale', 'the case text or the prompt template changed since');
  else if ((entry.styleSha ?? undefined) !== files.styleSha) {
    add(status, 'stale', "the case's style sheet changed since");
  }
  if (entry.review !== 'approved') add(status, 'awaiting-review', `review ${entry.review}`);
  return status;
}

/** How to scan. `trustRecorded: false` reads every image (the slow path, for comparison). */
export interface ScanOptions {
  trustRecorded?: boolean;
  /**
   * The scan index file to use and update (see scan-index.ts), or false for none; default: the
   * checkout's (defaultIndexFile). Ignored with `trustRecorded: false`.
   */
  index?: string | false;
  /** When the scan starts, for the index's "changed just before" rule; tests move it. */
  clock?: Pick<Clock, 'now'>;
}

/** What one scan shares between its cases. */
interface ScanContext {
  root: string;
  trust: boolean;
  index: ScanIndex | null;
  styles: ScanStyleSheets;
}

function scanContext(root: string, options: ScanOptions, index: ScanIndex | null): ScanContext {
  const trust = options.trustRecorded ?? true;
  return { root, trust, index: trust ? index : null, styles: new ScanStyleSheets(root) };
}

/** null when the directory has no case.json (not a case); throws InputError when it is invalid. */
function scanCaseSync(scan: ScanContext, caseId: string): ImageStatus[] | null {
  // caseDir checks the id before any path is built; the rest are plain concatenations of it.
  const dir = caseDir(scan.root, caseId);
  const { index, trust } = scan;
  const { record, manifestMtimeMs } = index
    ? recordThroughIndex(index, dir, caseId)
    : readRecord(dir, caseId);
  if (!record) return null;
  const files: CaseFiles = {
    caseId,
    record,
    dir: `${dir}/images`,
    manifestMtimeMs,
    trust,
    index,
    styleSha: scan.styles.sha(dir, record.artStyle),
  };
  return record.imageIds.map((imageId) => inspectImage(files, imageId));
}

/** Scans one case. A case that cannot be read (bad id, missing, invalid) is an InputError. */
export async function scanCase(
  root: string,
  caseId: string,
  options: ScanOptions = {},
): Promise<ImageStatus[]> {
  const images = scanCaseSync(scanContext(root, options, null), caseId);
  if (images) return images;
  // readCase words the "no such case" error the same way every command does.
  await readCase(root, caseId);
  throw new InputError(`case ${caseId} does not exist`, { field: 'case-id' });
}

/** Cases scanned between two yields to the event loop: about 10 ms of work. */
const CASES_PER_SLICE = 50;

function caseDirectories(root: string): string[] {
  try {
    return readdirSync(casesDir(root), { withFileTypes: true })
      .filter((e) => e.isDirectory() && isCaseId(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Scans every case (or the ones given); one unreadable case is reported in `problems` and does
 * not stop the rest. Directories without a case.json are not cases and are skipped, as in
 * listCaseIds.
 */
export async function scanAll(
  root: string,
  options: ScanOptions & { caseIds?: string[] } = {},
): Promise<ScanReport> {
  const caseIds = options.caseIds ?? caseDirectories(root);
  const report: ScanReport = { cases: 0, images: [], problems: [] };
  const indexFile = options.index ?? defaultIndexFile(root);
  const index =
    indexFile && (options.trustRecorded ?? true)
      ? ScanIndex.open(indexFile, (options.clock ?? systemClock).now())
      : null;
  const scan = scanContext(root, options, index);
  for (let i = 0; i < caseIds.length; i++) {
    if (i > 0 && i % CASES_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const caseId = caseIds[i] as string;
    try {
      const images = scanCaseSync(scan, caseId);
      if (!images) continue;
      report.cases += 1;
      for (const image of images) report.images.push(image);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      report.cases += 1;
      report.problems.push({ caseId, message: error.message });
    }
  }
  await index?.save(options.caseIds === undefined);
  return report;
}
