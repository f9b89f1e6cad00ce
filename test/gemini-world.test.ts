import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_MODEL } from '../src/config/pricing.ts';
import { configSchema } from '../src/config/schema.ts';
import { InputError } from '../src/errors.ts';
import { readImageHeader } from '../src/images/inspect.ts';
import { decide } from '../src/pacing/retry-policy.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import type { GenerationFailure, GenerationResult, ImageRequest } from '../src/providers/types.ts';
import { checkImage } from '../src/quality/checks.ts';
import { defaultImage, type FakeGemini, modelPixelSize, startFakeGemini } from './support/fake-gemini.ts';

/*
 * Every reply shape of issue 9, sent by the fake, parsed by the real @google/genai client, judged
 * by lineup's provider and retry policy.
 */

const KEY = 'AIzaSy-world-key-0123456789abcdefghijkl';
const config = configSchema.parse({});

let fake: FakeGemini;
beforeEach(async () => {
  fake = await startFakeGemini({ models: [DEFAULT_IMAGE_MODEL, 'gemini-3-pro-image', 'gemini-3.8-flash'] });
});
afterEach(() => fake.close());

function provider(model = DEFAULT_IMAGE_MODEL, imageSize: '1K' | '2K' | undefined = '1K') {
  return createGeminiProvider({
    apiKey: KEY,
    model,
    apiVersion: 'v1beta',
    baseUrl: fake.url,
    timeoutMs: 5000,
    costPerImage: 0.0336,
    imageSize,
  });
}

const portrait: ImageRequest = {
  kind: 'suspect',
  caseId: 'case-2025-01-19',
  imageId: 'suspect-1',
  prompt: 'A nervous butler in a grey waistcoat, noir style',
  aspectRatio: '3:4',
};

function failed(result: GenerationResult): GenerationFailure {
  if (result.ok) throw new Error('expected a failure');
  expect(result.message).not.toContain(KEY);
  return result;
}

describe('429 shapes', () => {
  it('takes the delay from RetryInfo when the reply has one', async () => {
    fake.enqueue({ kind: 'rate-limit', retryDelaySec: 7 });
    const f = failed(await provider().generate(portrait));
    expect(f).toMatchObject({ errorType: 'rate_limit', retryAfterMs: 7000 });
    expect(decide(f, { attempt: 0, rateLimited: 1 }, 3, config)).toMatchObject({
      action: 'retry',
      delayMs: 7000,
    });
  });

  it('takes the delay from the message when only a Help link comes with it', async () => {
    fake.enqueue({ kind: 'rate-limit', shape: 'help-only', retryDelaySec: 20.04 });
    const f = failed(await provider().generate(portrait));
    expect(f).toMatchObject({ errorType: 'rate_limit', retryAfterMs: 20040 });
    expect(f.noQuota).toBeUndefined();
    expect(decide(f, { attempt: 0, rateLimited: 1 }, 3, config)).toMatchObject({
      action: 'retry',
      delayMs: 20040,
      pauseAll: true,
    });
  });

  it('falls back to delayAfterRateLimit when neither names a delay', () => {
    const f: GenerationFailure = { ok: false, errorType: 'rate_limit', reason: 'http', message: 'HTTP 429' };
    expect(decide(f, { attempt: 0, rateLimited: 1 }, 3, config)).toMatchObject({ delayMs: 60_000 });
  });

  it('stops at once with exit 1 when the project has no quota for the model (limit: 0)', async () => {
    fake.enqueue({ kind: 'rate-limit', shape: 'no-quota' });
    const f = failed(await provider().generate(portrait));
    expect(f).toMatchObject({
      errorType: 'rate_limit',
      reason: 'no_quota',
      noQuota: true,
      quota: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    });
    // The free-tier reply names a per-day quota too: it is still "no quota", not "daily quota used up".
    expect(f.dailyQuota).toBeUndefined();
    const d = decide(f, { attempt: 0, rateLimited: 1 }, 3, config);
    expect(d).toMatchObject({ action: 'stop-batch', exitCode: 1 });
    expect(d.action === 'stop-batch' && d.reason).toMatch(/no quota.*enable billing.*another model/);
  });

  it('keeps a used-up daily quota at exit 3', async () => {
    fake.enqueue({ kind: 'rate-limit', daily: true, retryDelaySec: 30 });
    const f = failed(await provider().generate(portrait));
    expect(f).toMatchObject({ dailyQuota: true });
    expect(decide(f, { attempt: 0, rateLimited: 1 }, 3, config)).toMatchObject({
      action: 'stop-batch',
      exitCode: 3,
    });
  });
});

describe('a retired model', () => {
  it('is model_not_found on generateContent and stops the batch with exit 1', async () => {
    fake.retire(DEFAULT_IMAGE_MODEL);
    const f = failed(await provider().generate(portrait));
    expect(f).toMatchObject({ errorType: 'model_not_found', reason: 'model_not_found', status: 404 });
    expect(f.message).toMatch(/is not found for API version v1beta/);
    const d = decide(f, { attempt: 0, rateLimited: 0 }, 3, config);
    expect(d).toMatchObject({ action: 'stop-batch', exitCode: 1 });
    expect(d.action === 'stop-batch' && d.reason).toMatch(/"model" in lineup\.config\.json or --model/);
  });

  it('fails the model check with the config field, the flag and the image models models.list offers', async () => {
    const retired = provider('gemini-3.1-flash-image');
    const error = await retired.verifyModel?.().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('model');
    expect((error as InputError).message).toMatch(/"gemini-3\.1-flash-image" is not a model.*404 NOT_FOUND/);
    expect((error as InputError).message).toMatch(/--model/);
    expect((error as InputError).message).toContain('gemini-3-pro-image, gemini-nano-banana-2.1');
    expect((error as InputError).message).not.toContain('gemini-3.8-flash');
    expect(fake.modelCalls.map((c) => c.method)).toEqual(['get', 'list']);
  });

  it('asks models.get once per process for a model that exists', async () => {
    const p = provider();
    await p.verifyModel?.();
    await p.verifyModel?.();
    await provider().verifyModel?.();
    expect(fake.modelCalls).toEqual([{ method: 'get', model: DEFAULT_IMAGE_MODEL }]);
  });
});

describe('Gemini 3 replies', () => {
  it('sends imageSize to Gemini 3 image models and gets their pixel sizes back', async () => {
    const result = await provider().generate(portrait);
    if (!result.ok) throw new Error(result.message);
    expect(fake.requests[0]?.imageSize).toBe('1K');
    expect(result).toMatchObject({ width: 896, height: 1200 });
    const scene = await provider().generate({
      ...portrait,
      imageId: 'scene',
      kind: 'scene',
      aspectRatio: '16:9',
    });
    expect(scene).toMatchObject({ width: 1376, height: 768 });
    // The quality checks read the size from the file and accept both.
    if (!scene.ok) throw new Error('no scene');
    expect(checkImage(result.bytes, { aspectRatio: '3:4' }).failures).toEqual([]);
    expect(checkImage(scene.bytes, { aspectRatio: '16:9' }).failures).toEqual([]);
  });

  it('sends no imageSize to an older model, which rejects it', async () => {
    const old = createGeminiProvider({
      apiKey: KEY,
      model: 'gemini-2.5-flash-image',
      apiVersion: 'v1beta',
      baseUrl: fake.url,
      timeoutMs: 5000,
      costPerImage: 0.039,
      imageSize: '1K',
    });
    const result = await old.generate(portrait);
    // Retired (not in the fake's catalogue): the answer is a 404, but the request shows what was sent.
    expect(failed(result).errorType).toBe('model_not_found');
    expect(fake.requests[0]?.imageSize).toBeUndefined();
  });

  it('takes the final image after two thought images', async () => {
    fake.enqueue({ kind: 'image', thoughts: 2 });
    const result = await provider().generate(portrait);
    if (!result.ok) throw new Error(result.message);
    const size = modelPixelSize(DEFAULT_IMAGE_MODEL, '3:4', '1K');
    const final = await defaultImage(portrait.prompt, '3:4', 'image/png', size);
    expect(Buffer.from(result.bytes).equals(Buffer.from(final.bytes))).toBe(true);
  });

  it('takes the last image when the final one is flagged as a thought too', async () => {
    fake.enqueue({ kind: 'image', thoughts: 1, finalFlagged: true });
    const result = await provider().generate(portrait);
    if (!result.ok) throw new Error(result.message);
    const final = await defaultImage(portrait.prompt, '3:4', 'image/png', { width: 896, height: 1200 });
    expect(Buffer.from(result.bytes).equals(Buffer.from(final.bytes))).toBe(true);
    expect(readImageHeader(result.bytes)).toMatchObject({ width: 896, height: 1200 });
  });

  it('draws 2K images at twice the 1K size', async () => {
    const result = await provider(DEFAULT_IMAGE_MODEL, '2K').generate(portrait);
    expect(fake.requests[0]?.imageSize).toBe('2K');
    expect(result).toMatchObject({ ok: true, width: 1792, height: 2400 });
  });
});
