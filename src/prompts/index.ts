export {
  buildPrompt,
  MAX_FEEDBACK_LENGTH,
  MAX_PROMPT_LENGTH,
  promptHash,
} from './build-prompt.ts';
export { PROMPT_TEMPLATE_VERSION } from './templates.ts';
