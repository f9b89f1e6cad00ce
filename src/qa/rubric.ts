import { hash } from 'node:crypto';
import type { Case } from '../cases/schema.ts';
import { DEFAULT_ART_STYLE } from '../prompts/templates.ts';

/**
 * Bump when the wording or the checks below change: the version and the hash of the rubric text
 * are recorded with each verdict, so a reader can tell which questions an image was judged by.
 */
export const RUBRIC_VERSION = 1;

interface RubricCheck {
  /** Short name shown in the PR checklist, e.g. `one-person`. */
  name: string;
  /** What the judge must verify, filled from the case. */
  question: string;
}

export interface Rubric {
  version: number;
  kind: 'suspect' | 'scene' | 'lineup';
  checks: RubricCheck[];
  /** The full instruction sent with the image(s). */
  text: string;
  /** sha256 of the version and the text. */
  hash: string;
}

const ANSWER_RULES = [
  'Judge only what is visible. Answer in JSON with:',
  '- "pass": true only if every check holds;',
  '- "score": 0 to 1, how well the picture meets the checks overall (1 = all perfectly);',
  '- "issues": one entry per failed check, "check" being the check\'s name exactly as given and',
  '  "detail" one short sentence saying what is wrong in the picture. No entries for checks that hold.',
].join('\n');

/** Case text may span lines; the rubric keeps one line per check. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function styleOf(data: Case): string {
  return oneLine(data.artStyle ?? DEFAULT_ART_STYLE);
}

/** Options of a rubric: whether the case's style sheet travels as the last image of the request. */
export interface RubricOptions {
  styleSheet?: boolean;
}

function styleCheck(data: Case, o: RubricOptions): RubricCheck {
  return {
    name: 'art-style',
    question: o.styleSheet
      ? `The picture matches the palette, line and lighting of the last image, the case's style sheet (${styleOf(data)}); the sheet itself is not judged.`
      : `The picture is drawn in this style: ${styleOf(data)}.`,
  };
}

function build(kind: Rubric['kind'], intro: string, checks: RubricCheck[]): Rubric {
  const list = checks.map((c) => `- ${c.name}: ${c.question}`).join('\n');
  const text = `${intro}\n\nChecks:\n${list}\n\n${ANSWER_RULES}`;
  return {
    version: RUBRIC_VERSION,
    kind,
    checks,
    text,
    hash: hash('sha256', `lineup-rubric-v${RUBRIC_VERSION}\n${text}`, 'hex'),
  };
}

function suspectRubric(data: Case, imageId: string, o: RubricOptions): Rubric {
  const s = data.suspects.find((x) => x.id === imageId);
  if (!s) throw new Error(`unreachable: ${imageId} is not a suspect of ${data.id}`);
  const who = [s.occupation, s.age !== undefined ? `aged about ${s.age}` : undefined].filter(Boolean);
  const checks: RubricCheck[] = [
    {
      name: 'one-person',
      question: 'Exactly one person is shown, head and shoulders, no second face or figure.',
    },
  ];
  if (s.age !== undefined) {
    checks.push({
      name: 'age',
      question: `The person looks about ${s.age} years old (within roughly ten years).`,
    });
  }
  checks.push({
    name: 'appearance',
    question: `Build, face, hair and features match: ${oneLine(s.appearance)}`,
  });
  if (s.clothing) checks.push({ name: 'clothing', question: `Clothing matches: ${oneLine(s.clothing)}` });
  checks.push(
    {
      name: 'no-text',
      question: 'No rendered text, letters, numbers, captions, name tags, watermark or signature anywhere.',
    },
    styleCheck(data, o),
  );
  const intro = `You review a portrait made for a detective game. It should show one suspect${who.length ? `, ${who.join(', ')}` : ''}.`;
  return build('suspect', intro, checks);
}

function sceneRubric(data: Case, o: RubricOptions): Rubric {
  const sc = data.scene;
  const checks: RubricCheck[] = [];
  if (sc.location) checks.push({ name: 'location', question: `The place is: ${oneLine(sc.location)}.` });
  if (sc.timeOfDay)
    checks.push({ name: 'time-of-day', question: `The light fits: ${oneLine(sc.timeOfDay)}.` });
  checks.push({ name: 'details', question: `The scene shows what is described: ${oneLine(sc.description)}` });
  if (sc.clues?.length) {
    checks.push({
      name: 'clues',
      question: `These objects are visible: ${sc.clues.map(oneLine).join('; ')}.`,
    });
  }
  checks.push(
    { name: 'no-people', question: 'No people, figures, silhouettes or faces appear.' },
    {
      name: 'no-text',
      question: 'No rendered text, letters, numbers, signs with words, watermark or signature anywhere.',
    },
    styleCheck(data, o),
  );
  return build('scene', 'You review the crime-scene picture of a detective game.', checks);
}

/** The rubric for one image of a case. */
export function rubricFor(data: Case, imageId: string, o: RubricOptions = {}): Rubric {
  return imageId === 'scene' ? sceneRubric(data, o) : suspectRubric(data, imageId, o);
}

/** The one extra call per case: are the suspects clearly different people? */
export function lineupRubric(data: Case, suspectIds: readonly string[]): Rubric {
  const n = suspectIds.length;
  const checks: RubricCheck[] = [
    {
      name: 'distinct-people',
      question: `The ${n} portraits show ${n} clearly different people: a witness could tell them apart at a glance (face, age, build, hair), not siblings or one person restyled.`,
    },
    { name: 'same-style', question: `All ${n} portraits share one style: ${styleOf(data)}.` },
  ];
  const intro = `You review the ${n} suspect portraits of one detective-game case, given in order: ${suspectIds.join(', ')}. In "detail", name the suspects concerned.`;
  return build('lineup', intro, checks);
}
