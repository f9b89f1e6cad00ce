import * as core from '@actions/core';
import { z } from 'zod';
import { Shutdown } from '../cancel.ts';
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
  'deadline-minutes': input.number('deadline-minutes'),
});

/**
 * The review-images action: an approving review records the approval on the branch; changes
 * requested (comments on image files, `/regenerate` lines) or a `/regenerate` comment make the
 * images again through the common run entry.
 */
export async function run(): Promise<void> {
  // The secrets are masked before anything else runs, so they are read apart from the schema.
  const apiKey = apiKeyInput();
  let shutdown: Shutdown | undefined;
  await runFace([apiKey, core.getInput('github-token').trim()], async () => {
    const inputs = parseInputs(schema);
    const minutes = inputs['deadline-minutes'];
    // Installed before the event is read: from here on a cancel never kills the process outright.
    shutdown = new Shutdown({ deadlineMs: minutes ? minutes * 60_000 : undefined }).install();
    const settings: RegenerateSettings = {
      apiKey,
      provider: inputs.provider,
      model: inputs.model,
      shutdown,
    };
    await review(await readEvent(inputs['event-path']), inputs['github-token'] ?? '', settings);
  });
  shutdown?.dispose();
  // A cancelled run ends now: a request given up may still hold a socket, and the kill is near.
  if (shutdown?.cancelled) process.exit();
}
