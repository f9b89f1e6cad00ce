import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { Case } from '../cases/schema.ts';
import { InputError } from '../errors.ts';
import {
  DEFAULT_ART_STYLE,
  PROMPT_TEMPLATE_VERSION,
  REVIEWER_NOTES_LABEL,
  SCENE_TEMPLATE,
  SUSPECT_TEMPLATE,
  type Template,
} from './templates.ts';

/** Gemini accepts far longer prompts, but past this the image models start ignoring details. */
export const MAX_PROMPT_LENGTH = 4000;
/** Reviewer notes are a sentence or two; anything longer is cut so it cannot crowd out the case. */
export const MAX_FEEDBACK_LENGTH = 500;

export interface BuiltPrompt {
  kind: 'suspect' | 'scene';
  imageId: string;
  /** The text sent to the model, reviewer notes included. */
  prompt: string;
  /**
   * Hash of the prompt *without* reviewer notes: an image regenerated from feedback must not look
   * stale forever afterwards, while a change to the case text or the template must.
   */
  promptHash: string;
  aspectRatio: '3:4' | '16:9';
}

/** Prefix of every hashed prompt; a template change bumps the version and so every hash. */
const HASH_PREFIX = `lineup-prompt-v${PROMPT_TEMPLATE_VERSION}\n`;

/**
 * sha256 hex of the template version and the prompt. The model is deliberately not part of it:
 * switching models should not mark every existing image stale. The parameter is accepted (and
 * ignored) so callers need not care about that choice.
 */
export function promptHash(prompt: string, _model?: string): string {
  // One-shot hash: a Hash object per call was a visible share of a 40,000-image scan.
  return hash('sha256', `${HASH_PREFIX}${prompt}`, 'hex');
}

interface Value {
  text: string;
  /** Where the text came from in case.json, to point at when the prompt is too long. */
  field: string;
}

/** Anything clean() would change apart from trailing full stops: runs or kinds of whitespace, edges. */
const NEEDS_FULL_CLEAN = /\s\s|[^\S ]|^\s|\s$/;

/** Case text may hold line breaks or a closing full stop; the template owns layout and punctuation. */
function clean(text: string): string {
  if (NEEDS_FULL_CLEAN.test(text)) {
    return text
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/[\s.]+$/, '');
  }
  // The usual case: single spaces only, nothing at the edges but perhaps a closing full stop (or
  // " ." / ". ." runs, which [\s.]+$ removes as well).
  let end = text.length;
  for (let ch = text.charCodeAt(end - 1); ch === 0x2e || ch === 0x20; ch = text.charCodeAt(end - 1)) end--;
  return end === text.length ? text : text.slice(0, end);
}

function put(
  values: Map<string, Value>,
  key: string,
  text: string | number | undefined,
  field: string,
): void {
  if (text === undefined) return;
  const cleaned = clean(String(text));
  if (cleaned) values.set(key, { text: cleaned, field });
}

/**
 * One template line split once at its `{placeholder}`s: `parts` are the literal pieces around
 * them, so `parts.length === keys.length + 1`.
 */
interface CompiledLine {
  parts: readonly string[];
  keys: readonly string[];
}

/** Each template entry as the list of its choices (a plain line is a choice of one). */
type CompiledTemplate = ReadonlyArray<readonly CompiledLine[]>;

function compileLine(line: string): CompiledLine {
  // split with a capturing group alternates literal text and placeholder names.
  const pieces = line.split(/\{(\w+)\}/);
  return {
    parts: pieces.filter((_, i) => i % 2 === 0),
    keys: pieces.filter((_, i) => i % 2 === 1),
  };
}

const compiled = new WeakMap<Template, CompiledTemplate>();

/** Templates are parsed once, not on every prompt: the scan builds tens of thousands. */
function compile(template: Template): CompiledTemplate {
  let result = compiled.get(template);
  if (!result) {
    result = template.map((entry) => (typeof entry === 'string' ? [entry] : entry).map(compileLine));
    compiled.set(template, result);
  }
  return result;
}

function render(template: Template, values: Map<string, Value>): { text: string; used: Value[] } {
  let text = '';
  let first = true;
  const used: Value[] = [];
  for (const choices of compile(template)) {
    const line = choices.find((c) => c.keys.every((k) => values.has(k)));
    if (line === undefined) continue;
    // One pass over the template's own pieces, so a `{word}` inside case text is never itself substituted.
    let out = line.parts[0] ?? '';
    for (let i = 0; i < line.keys.length; i++) {
      const value = values.get(line.keys[i] as string) as Value;
      used.push(value);
      out += value.text + (line.parts[i + 1] ?? '');
    }
    text = first ? out : `${text}\n${out}`;
    first = false;
  }
  return { text, used };
}

/** Cuts by code points, so a cut never leaves half of a surrogate pair. */
function cut(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return max <= 1 ? '' : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Reviewer notes are untrusted text: control characters and line breaks become spaces so the
 * notes stay on their one delimited line, and nothing in them is interpreted.
 */
function reviewerNotes(feedback: string, room: number): string {
  const flat = feedback
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cut(flat, Math.min(MAX_FEEDBACK_LENGTH, room));
}

/**
 * The prompt for one image of a case: `scene` or a suspect id. Deterministic: the same case,
 * image and feedback always give the same text. `file` names case.json in error messages.
 */
export function buildPrompt(
  c: Case,
  imageId: string,
  options: { feedback?: string; file?: string } = {},
): BuiltPrompt {
  // Only error messages need it; built lazily because the scan calls this tens of thousands of times.
  const file = () => options.file ?? join('cases', c.id, 'case.json');
  const values = new Map<string, Value>();
  put(values, 'artStyle', c.artStyle ?? DEFAULT_ART_STYLE, 'artStyle');

  let kind: BuiltPrompt['kind'];
  let template: Template;
  if (imageId === 'scene') {
    kind = 'scene';
    template = SCENE_TEMPLATE;
    const s = c.scene;
    put(values, 'location', s.location, 'scene.location');
    put(values, 'timeOfDay', s.timeOfDay, 'scene.timeOfDay');
    put(values, 'weather', s.weather, 'scene.weather');
    put(values, 'mood', s.mood, 'scene.mood');
    put(values, 'description', s.description, 'scene.description');
    const clues = (s.clues ?? []).map(clean).filter(Boolean);
    if (clues.length > 0) put(values, 'clues', clues.join('; '), 'scene.clues');
  } else {
    const index = c.suspects.findIndex((s) => s.id === imageId);
    const suspect = c.suspects[index];
    if (!suspect) {
      const known = c.suspects.map((s) => s.id).join(', ');
      throw new InputError(
        `case ${c.id} has no suspect ${JSON.stringify(imageId)}; known suspects: ${known} (or scene)`,
        { file: file(), field: 'suspectId' },
      );
    }
    kind = 'suspect';
    template = SUSPECT_TEMPLATE;
    const at = `suspects[${index}]`;
    put(values, 'age', suspect.age, `${at}.age`);
    put(values, 'occupation', suspect.occupation, `${at}.occupation`);
    put(values, 'appearance', suspect.appearance, `${at}.appearance`);
    put(values, 'clothing', suspect.clothing, `${at}.clothing`);
    put(values, 'demeanor', suspect.demeanor, `${at}.demeanor`);
  }

  const { text: base, used } = render(template, values);
  if (base.length > MAX_PROMPT_LENGTH) {
    const longest = used.reduce((a, b) => (b.text.length > a.text.length ? b : a));
    throw new InputError(
      `prompt too long: the ${imageId} prompt is ${base.length} characters, the limit is ${MAX_PROMPT_LENGTH}; shorten this field (${longest.text.length} characters)`,
      { file: file(), field: longest.field },
    );
  }

  let prompt = base;
  if (options.feedback !== undefined) {
    const prefix = `\n${REVIEWER_NOTES_LABEL} `;
    const notes = reviewerNotes(options.feedback, MAX_PROMPT_LENGTH - base.length - prefix.length);
    if (notes) prompt = `${base}${prefix}${notes}`;
  }

  return {
    kind,
    imageId,
    prompt,
    promptHash: promptHash(base),
    aspectRatio: kind === 'scene' ? '16:9' : '3:4',
  };
}
