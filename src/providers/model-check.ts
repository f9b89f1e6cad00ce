import { createHash } from 'node:crypto';
import { GoogleGenAI } from '@google/genai';
import { InputError } from '../errors.ts';
import { classifyError } from './classify-error.ts';

export interface ModelCheckOptions {
  apiKey: string;
  model: string;
  apiVersion: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
}

/** Image models are the ones whose id says so (models.list has no output-modality field). */
const IMAGE_MODEL_ID = /image|nano-banana/i;
/** Enough to name the choices in one message; models.list is paged, the first pages suffice. */
const MAX_PAGES = 5;

// One check per model, endpoint and key for the whole process: every run, retry and resume of
// this process shares it, so a long-lived action pays one models.get, not one per batch.
const checked = new Map<string, Promise<void>>();

/**
 * `models.get` for the configured model before anything is spent. NOT_FOUND (a retired or
 * misspelled model) becomes an InputError naming the config field, the flag and the image models
 * this key can use (from `models.list`): exit 2, nothing written. Any other outcome (a network
 * error, a bad key, a 5xx) is left to the run, whose error table handles it with retries or stops.
 */
export function createModelCheck(o: ModelCheckOptions): () => Promise<void> {
  return () => {
    const keyHash = createHash('sha256').update(o.apiKey).digest('hex');
    const key = [o.baseUrl ?? '', o.apiVersion, o.model, keyHash].join('\0');
    let pending = checked.get(key);
    if (!pending) {
      pending = checkModel(o);
      checked.set(key, pending);
      // A failed check is not cached as a pass: a later run in the process asks again.
      pending.catch(() => checked.delete(key));
    }
    return pending;
  };
}

function clientFor(o: ModelCheckOptions): GoogleGenAI {
  return new GoogleGenAI({
    apiKey: o.apiKey,
    apiVersion: o.apiVersion,
    httpOptions: o.baseUrl ? { baseUrl: o.baseUrl } : {},
  });
}

async function checkModel(o: ModelCheckOptions): Promise<void> {
  const client = clientFor(o);
  try {
    await client.models.get({ model: o.model, config: { abortSignal: AbortSignal.timeout(o.timeoutMs) } });
    return;
  } catch (error) {
    const failure = classifyError(error, { apiKey: o.apiKey });
    if (failure.status !== 404) return;
  }
  const available = await imageModels(client, o.timeoutMs);
  const choices = available.length
    ? `image models this key can use: ${available.join(', ')}`
    : 'models.list named no image model for this key';
  throw new InputError(
    `${JSON.stringify(o.model)} is not a model the Gemini API knows (404 NOT_FOUND: retired or misspelled); set "model" in lineup.config.json or pass --model; ${choices}`,
    { field: 'model' },
  );
}

/** Ids of the image models `models.list` offers for generateContent; empty when listing fails. */
async function imageModels(client: GoogleGenAI, timeoutMs: number): Promise<string[]> {
  const ids: string[] = [];
  try {
    const pager = await client.models.list({
      config: { pageSize: 100, abortSignal: AbortSignal.timeout(timeoutMs) },
    });
    let pages = 1;
    for (;;) {
      for (const m of pager.page) {
        const id = (m.name ?? '').replace(/^models\//, '');
        const generates = !m.supportedActions || m.supportedActions.includes('generateContent');
        if (id && generates && IMAGE_MODEL_ID.test(id)) ids.push(id);
      }
      if (!pager.hasNextPage() || pages >= MAX_PAGES) break;
      await pager.nextPage();
      pages += 1;
    }
  } catch {
    // The list only makes the message more helpful; the 404 stands without it.
  }
  return ids.sort();
}
