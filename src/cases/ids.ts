import { InputError } from '../errors.ts';
import { showString } from '../util/read-json.ts';

/*
 * Ids become path segments, so they are checked against a strict ASCII pattern: that refuses
 * `../../etc`, absolute paths, separators, NUL bytes and look-alike unicode in one rule.
 */
export const CASE_ID_PATTERN = /^case-\d{4}-\d{2}-\d{2}(?:-[a-z0-9]+(?:-[a-z0-9]+)*)?$/;
export const SUSPECT_ID_PATTERN = /^suspect-[1-9]\d?$/;
export const IMAGE_ID_PATTERN = /^(?:suspect-[1-9]\d?|scene)$/;
const MAX_ID_LENGTH = 64;

export function isCaseId(value: string): boolean {
  return value.length <= MAX_ID_LENGTH && CASE_ID_PATTERN.test(value) && isRealDate(value.slice(5, 15));
}

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A real calendar date written YYYY-MM-DD (proleptic Gregorian, years 0000-9999), what a round
 * trip through Date accepts. Plain arithmetic: the Date round trip was a visible share of a
 * 10,000-case scan, which checks every case id and date.
 */
export function isRealDate(ymd: string): boolean {
  const match = YMD.exec(ymd);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

const show = showString;

export function assertCaseId(value: string, where: { file?: string; field?: string } = {}): string {
  if (!isCaseId(value)) {
    throw new InputError(
      `${show(value)} is not a case id; expected case-YYYY-MM-DD with an optional -suffix of a-z, 0-9 and -`,
      { field: 'case-id', ...where },
    );
  }
  return value;
}

export function assertImageId(value: string, where: { file?: string; field?: string } = {}): string {
  if (!IMAGE_ID_PATTERN.test(value)) {
    throw new InputError(`${show(value)} is not an image id; expected suspect-N or scene`, {
      field: 'image',
      ...where,
    });
  }
  return value;
}
