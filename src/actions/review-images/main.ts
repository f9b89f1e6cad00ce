import * as core from '@actions/core';
import { z } from 'zod';
import { apiKeyInput, input, parseInputs, runFace } from '../inputs.ts';
import { readEvent } from './event.ts';
import type { RegenerateSettings } from './regenerate.ts';
import { review } from './review.ts';

/** review-images's inputs as action.yml names them (the key is read apart: it may come from GEMINI_API_KEY). */
const schema = z.object({
  'event-path': input.text(),
  'github-token': input.text(),
  provider: input.oneOf('provider', ['gemini', 'placeholder'] as const),
  model: input.text(),
});

/**
 * The review-images action: an approving review records the approval on the branch; changes
 * requested (comments on image files, `/regenerate` lines) or a `/regenerate` comment make the
 * images again through the common run entry.
 */
export async function run(): Promise<void> {
  // The secrets are masked before anything else runs, so they are read apart from the schema.
  const apiKey = apiKeyInput();
  await runFace([apiKey, core.getInput('github-token').trim()], async () => {
    const inputs = parseInputs(schema);
    const settings: RegenerateSettings = { apiKey, provider: inputs.provider, model: inputs.model };
    await review(await readEvent(inputs['event-path']), inputs['github-token'] ?? '', settings);
  });
}
