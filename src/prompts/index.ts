export {
  type BuiltPrompt,
  buildPrompt,
  MAX_FEEDBACK_LENGTH,
  MAX_PROMPT_LENGTH,
  promptHash,
} from './build-prompt.ts';
export { DEFAULT_ART_STYLE, PROMPT_TEMPLATE_VERSION } from './templates.ts';
