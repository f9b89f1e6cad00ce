import { CASE_ID_PATTERN, IMAGE_ID_PATTERN, isRealDate, SUSPECT_ID_PATTERN } from '../cases/ids.ts';
import type { Case, Manifest } from '../cases/schema.ts';
import { MAX_TEXT } from '../cases/schema.ts';

/*
 * A fast, conservative stand-in for the zod schemas of case.json and manifest.json, for the scan
 * only (zod's validation was about a fifth of a 10,000-case scan). Each function returns the
 * parsed value only when it is sure zod would accept the same JSON and give the same answer for
 * every field the scan reads; anything unusual (a string zod would trim, a missing default, an
 * unknown key, any doubt) returns null and the caller runs the real schema, so every error
 * message still comes from one place. It may refuse valid input; it must never accept invalid
 * input: test/scan-quick-parse.test.ts feeds both the same documents and compares.
 */

const MAX_SHORT = 120;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every own key is one of `allowed` (zod's `.strict()`). */
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const key in o) if (!allowed.has(key)) return false;
  return true;
}

/** What `text(max)` accepts and leaves unchanged: a string with nothing for trim() to remove. */
function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && value.trim() === value;
}

function optText(value: unknown, max: number): boolean {
  return value === undefined || isText(value, max);
}

const SUSPECT_KEYS = new Set([
  'id',
  'name',
  'appearance',
  'age',
  'occupation',
  'demeanor',
  'clothing',
  'motive',
  'alibi',
]);
const SCENE_KEYS = new Set(['description', 'location', 'timeOfDay', 'weather', 'mood', 'clues']);
const CASE_KEYS = new Set(['id', 'title', 'date', 'artStyle', 'summary', 'scene', 'suspects']);

function isSuspect(s: unknown): boolean {
  if (!isObject(s) || !onlyKeys(s, SUSPECT_KEYS)) return false;
  const age = s.age;
  return (
    typeof s.id === 'string' &&
    SUSPECT_ID_PATTERN.test(s.id) &&
    isText(s.name, MAX_SHORT) &&
    isText(s.appearance, MAX_TEXT) &&
    (age === undefined || (Number.isSafeInteger(age) && (age as number) >= 1 && (age as number) <= 120)) &&
    optText(s.occupation, MAX_SHORT) &&
    optText(s.demeanor, MAX_SHORT) &&
    optText(s.clothing, MAX_TEXT) &&
    optText(s.motive, MAX_TEXT) &&
    optText(s.alibi, MAX_TEXT)
  );
}

function isScene(s: unknown): boolean {
  if (!isObject(s) || !onlyKeys(s, SCENE_KEYS)) return false;
  const clues = s.clues;
  return (
    isText(s.description, MAX_TEXT) &&
    optText(s.location, MAX_SHORT) &&
    optText(s.timeOfDay, MAX_SHORT) &&
    optText(s.weather, MAX_SHORT) &&
    optText(s.mood, MAX_SHORT) &&
    (clues === undefined ||
      (Array.isArray(clues) && clues.length <= 12 && clues.every((c) => isText(c, MAX_SHORT))))
  );
}

function hasUniqueIds(suspects: readonly Obj[]): boolean {
  const seen = new Set<unknown>();
  for (const s of suspects) {
    if (seen.has(s.id)) return false;
    seen.add(s.id);
  }
  return true;
}

/** The case when it is surely valid and its id is `caseId`; null means "ask the schema". */
export function quickCase(data: unknown, caseId: string): Case | null {
  if (!isObject(data) || !onlyKeys(data, CASE_KEYS)) return null;
  const { id, date, suspects } = data;
  const ok =
    id === caseId &&
    caseId.length <= 64 &&
    CASE_ID_PATTERN.test(caseId) &&
    typeof date === 'string' &&
    isRealDate(date) &&
    caseId.startsWith(`case-${date}`) &&
    isText(data.title, MAX_SHORT) &&
    optText(data.artStyle, MAX_SHORT * 2) &&
    optText(data.summary, MAX_TEXT) &&
    isScene(data.scene) &&
    Array.isArray(suspects) &&
    suspects.length >= 1 &&
    suspects.length <= 8 &&
    suspects.every(isSuspect) &&
    hasUniqueIds(suspects as Obj[]);
  return ok ? (data as Case) : null;
}

const SHA256 = /^[0-9a-f]{64}$/;
const IMAGE_FILE = /^(?:suspect-[1-9]\d?|scene)\.(?:png|jpg|webp)$/;
const MIME_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const PROVIDERS = new Set(['gemini', 'placeholder']);
const MODES = new Set(['sync', 'batch']);
const REVIEW_STATUSES = new Set(['pending', 'approved', 'changes-requested']);

function isCount(value: unknown, min: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

function isAmount(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Present and a string or null: the review's defaults are left to the schema. */
function isNullableString(value: unknown): boolean {
  return value === null || typeof value === 'string';
}

function isReview(r: unknown): boolean {
  if (!isObject(r)) return false;
  const pr = r.pullRequest;
  return (
    typeof r.status === 'string' &&
    REVIEW_STATUSES.has(r.status) &&
    isNullableString(r.by) &&
    isNullableString(r.at) &&
    isNullableString(r.feedback) &&
    (pr === null || Number.isSafeInteger(pr))
  );
}

function optString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function optInt(value: unknown, min: number): boolean {
  return value === undefined || isCount(value, min);
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** tokenUsageSchema: five whole token counts. */
function optUsage(u: unknown): boolean {
  if (u === undefined) return true;
  return isObject(u) && ['prompt', 'image', 'text', 'thoughts', 'total'].every((k) => isCount(u[k], 0));
}

/** A reference image as provenanceSchema has it: the style sheet's role, file and sha256. */
function isReference(r: unknown): boolean {
  return (
    isObject(r) &&
    r.role === 'style' &&
    typeof r.file === 'string' &&
    typeof r.sha256 === 'string' &&
    SHA256.test(r.sha256)
  );
}

/**
 * provenanceSchema, with `references` present: the scan reads it (the style sheet an image was
 * made with), and the schema's default for a missing one is left to the schema.
 */
function optProvenance(p: unknown): boolean {
  if (p === undefined) return true;
  if (!isObject(p) || !Array.isArray(p.references) || !p.references.every(isReference)) return false;
  const config = p.imageConfig;
  return (
    optInt(p.promptTemplateVersion, Number.MIN_SAFE_INTEGER) &&
    (config === undefined ||
      (isObject(config) && typeof config.aspectRatio === 'string' && optString(config.imageSize))) &&
    optUsage(p.usage) &&
    (p.actualCostUsd === undefined || isAmount(p.actualCostUsd))
  );
}

const VERDICT_STATUSES = new Set(['pass', 'fail', 'not-judged', 'skipped']);

/** visionVerdictSchema, with every field that has a default present (the defaults are the schema's). */
function optVerdict(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObject(v) || !VERDICT_STATUSES.has(v.status as string)) return false;
  const { score, issues } = v;
  return (
    (score === undefined || (typeof score === 'number' && score >= 0 && score <= 1)) &&
    isStringArray(v.checks) &&
    Array.isArray(issues) &&
    issues.every((i) => isObject(i) && typeof i.check === 'string' && typeof i.detail === 'string') &&
    optString(v.reason) &&
    optString(v.model) &&
    optInt(v.rubricVersion, Number.MIN_SAFE_INTEGER) &&
    optString(v.rubricHash) &&
    isCount(v.calls, 0) &&
    isAmount(v.costUsd) &&
    optUsage(v.usage) &&
    optInt(v.repairs, 0) &&
    optString(v.judgedAt)
  );
}

function isEntry(e: unknown): boolean {
  if (!isObject(e)) return false;
  const { file, sha256, mtimeMs, mimeType, provider, mode, quality } = e;
  return (
    typeof file === 'string' &&
    IMAGE_FILE.test(file) &&
    typeof sha256 === 'string' &&
    SHA256.test(sha256) &&
    isCount(e.bytes, 0) &&
    (mtimeMs === undefined || isAmount(mtimeMs)) &&
    isCount(e.width, 1) &&
    isCount(e.height, 1) &&
    MIME_TYPES.has(mimeType as string) &&
    PROVIDERS.has(provider as string) &&
    typeof e.model === 'string' &&
    typeof e.promptHash === 'string' &&
    typeof e.generatedAt === 'string' &&
    typeof e.batchId === 'string' &&
    isCount(e.attempts, 0) &&
    isAmount(e.costUsd) &&
    MODES.has(mode as string) &&
    Array.isArray(quality) &&
    quality.every((q) => typeof q === 'string') &&
    isReview(e.review) &&
    optProvenance(e.provenance) &&
    optVerdict(e.vision)
  );
}

/**
 * The manifest when it is surely valid and belongs to `caseId`; null means "ask the schema". Keys
 * the schema would strip stay on the objects: the scan never reads them.
 */
export function quickManifest(data: unknown, caseId: string): Manifest | null {
  if (!isObject(data) || data.caseId !== caseId || !CASE_ID_PATTERN.test(caseId)) return null;
  if (!optVerdict(data.lineup)) return null;
  const images = data.images;
  if (!isObject(images)) return null;
  for (const key in images) {
    if (!IMAGE_ID_PATTERN.test(key) || !isEntry(images[key])) return null;
  }
  return data as Manifest;
}
