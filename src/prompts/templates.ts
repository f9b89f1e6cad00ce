/**
 * The prompt templates. Any change to the text here must bump PROMPT_TEMPLATE_VERSION so that the
 * scan sees every image made from the old text as stale.
 *
 * Each template is a list of lines with `{placeholder}`s. A line whose placeholders are not all
 * present in the case is dropped whole, so an optional field leaves no dangling label behind. A
 * list of lines is a choice: the first whose placeholders are all present is used. Values arrive
 * without a trailing full stop; the template supplies the punctuation.
 */
export const PROMPT_TEMPLATE_VERSION = 1;

export type Template = ReadonlyArray<string | readonly string[]>;

/** Used when a case sets no artStyle, so every case still gets one consistent look. */
export const DEFAULT_ART_STYLE = 'Painterly realistic illustration with muted colours and soft lighting';

/*
 * The suspect's name is left out on purpose: image models tend to letter a name into the picture
 * or drift towards a famous person who shares it. Motive and alibi are story, not looks, so they
 * stay out as well.
 */
export const SUSPECT_TEMPLATE: Template = [
  'A single head-and-shoulders portrait of one person, a suspect in a detective game.',
  'Art style: {artStyle}.',
  ['The person: {occupation}, aged {age}.', 'The person: {occupation}.', 'The person is aged {age}.'],
  'Appearance: {appearance}.',
  'Clothing: {clothing}.',
  'Expression and posture: {demeanor}.',
  'Composition: exactly one person, centred, facing the viewer, head and shoulders filling the frame, ' +
    'plain neutral background, portrait orientation 3:4.',
  'Do not include any text, lettering, captions, name tags, signatures, watermarks or borders.',
];

/*
 * Scenes never show people: a figure would compete with the suspects' portraits, and an empty
 * scene keeps the picture clear of anything a safety filter could read as violence.
 */
export const SCENE_TEMPLATE: Template = [
  'A wide view of the scene of a crime in a detective game, with no people in it.',
  'Art style: {artStyle}.',
  'Location: {location}.',
  'Time of day: {timeOfDay}.',
  'Weather: {weather}.',
  'Mood: {mood}.',
  'The scene: {description}.',
  'Clues that must be clearly visible, drawn as objects without labels: {clues}.',
  'Composition: landscape orientation 16:9, the whole room or place in view, no people, no figures, ' +
    'no silhouettes, no faces in pictures or reflections.',
  'Do not include any text, lettering, captions, signs with words, signatures, watermarks or borders.',
];

/** Introduces the reviewer's notes; the notes follow on the same line and end the prompt. */
export const REVIEWER_NOTES_LABEL = 'Reviewer notes:';
