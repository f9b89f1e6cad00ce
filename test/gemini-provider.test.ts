import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.ts';
import { verifyImage } from '../src/images/inspect.ts';
import {
  classifyError,
  classifyHttpError,
  cleanMessage,
  parseRetryDelay,
} from '../src/providers/classify-error.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import { createProvider } from '../src/providers/index.ts';
import type {
  GenerationFailure,
  GenerationResult,
  ImageProvider,
  ImageRequest,
} from '../src/providers/types.ts';
import { type FakeGemini, type FakeReply, startFakeGemini } from './support/fake-gemini.ts';

const API_KEY = 'AIzaSy-test-key-0123456789abcdefghijkl';
const MODEL = 'gemini-2.5-flash-image';

let fake: FakeGemini;
let provider: ImageProvider;
const failures: GenerationFailure[] = [];

function request(over: Partial<ImageRequest> = {}): ImageRequest {
  return {
    kind: 'suspect',
    caseId: 'case-2025-01-19',
    imageId: 'suspect-1',
    prompt: 'A nervous butler in a grey waistcoat, noir style',
    aspectRatio: '3:4',
    ...over,
  };
}

function expectFailure(result: GenerationResult): GenerationFailure {
  if (result.ok) throw new Error('expected a failure, got an image');
  failures.push(result);
  expect(result.message).not.toContain(API_KEY);
  expect(result.message.length).toBeLessThanOrEqual(300);
  return result;
}

async function generateWith(
  reply: FakeReply & { latencyMs?: number },
  p = provider,
): Promise<GenerationResult> {
  fake.enqueue(reply);
  return p.generate(request());
}

beforeAll(async () => {
  fake = await startFakeGemini();
  provider = createGeminiProvider({
    apiKey: API_KEY,
    model: MODEL,
    apiVersion: 'v1beta',
    baseUrl: fake.url,
    timeoutMs: 10_000,
    costPerImage: 0.039,
  });
});

afterAll(async () => {
  await fake.close();
  // Every failure message produced by the suite, together: the key must be in none of them.
  expect(failures.length).toBeGreaterThan(15);
  for (const f of failures) expect(f.message).not.toContain(API_KEY);
});

beforeEach(() => {
  fake.setDefault({ kind: 'image' });
  fake.setHandler(undefined);
});

describe('gemini provider against the fake server', () => {
  it('returns a PNG of the requested aspect ratio and sends what Google expects', async () => {
    const before = fake.requests.length;
    const result = await provider.generate(request());
    if (!result.ok) throw new Error(result.message);
    expect(result).toMatchObject({
      mimeType: 'image/png',
      width: 864,
      height: 1184,
      provider: 'gemini',
      model: MODEL,
      costUsd: 0.039,
    });
    expect(verifyImage(result.bytes).ok).toBe(true);
    const seen = fake.requests[before];
    expect(seen?.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(seen?.method).toBe('POST');
    expect(seen?.apiKey).toBe(API_KEY);
    expect(seen?.aspectRatio).toBe('3:4');
    expect(seen?.prompt).toBe(request().prompt);
    expect(seen?.body).toMatchObject({ generationConfig: { responseModalities: ['IMAGE'] } });
  });

  it('returns a JPEG with its decoded size', async () => {
    const result = await generateWith({ kind: 'image', mimeType: 'image/jpeg' });
    if (!result.ok) throw new Error(result.message);
    expect(result.mimeType).toBe('image/jpeg');
    expect([result.width, result.height]).toEqual([864, 1184]);
  });

  it('draws different images for different prompts', async () => {
    const a = await provider.generate(request({ prompt: 'suspect one', aspectRatio: '1:1' }));
    const b = await provider.generate(request({ prompt: 'suspect two', aspectRatio: '1:1' }));
    if (!a.ok || !b.ok) throw new Error('expected images');
    expect([a.width, a.height]).toEqual([1024, 1024]);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(false);
  });

  it('429 with RetryInfo → rate_limit with retryAfterMs', async () => {
    const f = expectFailure(await generateWith({ kind: 'rate-limit', retryDelaySec: 37 }));
    expect(f).toMatchObject({ errorType: 'rate_limit', status: 429, retryAfterMs: 37_000 });
    expect(f.dailyQuota).toBeUndefined();
  });

  it('429 without RetryInfo → rate_limit without retryAfterMs', async () => {
    const f = expectFailure(await generateWith({ kind: 'rate-limit' }));
    expect(f.errorType).toBe('rate_limit');
    expect(f.retryAfterMs).toBeUndefined();
    expect(f.dailyQuota).toBeUndefined();
  });

  it('429 on the daily quota → dailyQuota', async () => {
    const f = expectFailure(await generateWith({ kind: 'rate-limit', daily: true, retryDelaySec: 5 }));
    expect(f).toMatchObject({ errorType: 'rate_limit', dailyQuota: true, retryAfterMs: 5000 });
  });

  it('400 → validation/http', async () => {
    const f = expectFailure(await generateWith({ kind: 'status', status: 400 }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'http', status: 400 });
    expect(f.message).toContain('INVALID_ARGUMENT');
  });

  it('400 about the token count → prompt_too_long', async () => {
    const message = 'The input token count (40000) exceeds the maximum number of tokens allowed (32768).';
    const f = expectFailure(await generateWith({ kind: 'status', status: 400, message }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'prompt_too_long' });
  });

  it.each([
    [401, 'auth'],
    [402, 'billing'],
    [403, 'auth'],
    [500, 'api_error'],
    [503, 'api_error'],
    [504, 'api_error'],
  ] as const)('%i → %s', async (status, errorType) => {
    const f = expectFailure(await generateWith({ kind: 'status', status }));
    expect(f).toMatchObject({ errorType, status });
  });

  // The runner owns retries (and honours RetryInfo); a retrying SDK underneath would multiply the
  // requests and hide 5xx/429 from it. The default reply is an image, so an SDK retry would even
  // turn the failure into a success.
  it.each([
    ['503', { kind: 'status', status: 503 }, 'api_error'],
    ['500', { kind: 'status', status: 500 }, 'api_error'],
    ['429', { kind: 'rate-limit', retryDelaySec: 1 }, 'rate_limit'],
  ] as const)(
    'the SDK does not retry: a %s reply is exactly one request',
    async (_name, reply, errorType) => {
      const before = fake.requests.length;
      const f = expectFailure(await generateWith(reply));
      expect(f.errorType).toBe(errorType);
      expect(fake.requests.length - before).toBe(1);
    },
  );

  it('an error message echoing the key is scrubbed', async () => {
    const f = expectFailure(
      await generateWith({ kind: 'status', status: 400, message: `API key not valid: ${API_KEY}` }),
    );
    expect(f.message).toContain('***');
  });

  it('a reset socket → network/connection_reset', async () => {
    const f = expectFailure(await generateWith({ kind: 'reset' }));
    expect(f).toMatchObject({ errorType: 'network', reason: 'connection_reset' });
  });

  it('a hanging server → network/timeout within the timeout', async () => {
    const quick = createGeminiProvider({
      apiKey: API_KEY,
      model: MODEL,
      apiVersion: 'v1beta',
      baseUrl: fake.url,
      timeoutMs: 200,
      costPerImage: 0.039,
    });
    const started = performance.now();
    const f = expectFailure(await generateWith({ kind: 'hang' }, quick));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(f).toMatchObject({ errorType: 'network', reason: 'timeout' });
    expect(f.message).toContain('200 ms');
  });

  it("the caller's own abort says aborted, not timed out", async () => {
    fake.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = provider.generate(request({ signal: controller.signal }));
    await fake.waitForRequests(fake.requests.length + 1);
    controller.abort();
    const f = expectFailure(await pending);
    expect(f.reason).toBe('timeout');
    expect(f.message).toMatch(/aborted by the caller/);
  });

  it('broken JSON → api_error/malformed_reply', async () => {
    const f = expectFailure(await generateWith({ kind: 'broken-json' }));
    expect(f).toMatchObject({ errorType: 'api_error', reason: 'malformed_reply' });
  });

  it('a blocked prompt → validation/prompt_blocked', async () => {
    const f = expectFailure(await generateWith({ kind: 'prompt-blocked', reason: 'SAFETY' }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'prompt_blocked' });
    expect(f.message).toContain('SAFETY');
  });

  it.each(['IMAGE_SAFETY', 'SAFETY', 'IMAGE_PROHIBITED_CONTENT'] as const)(
    '%s → validation/image_blocked',
    async (finishReason) => {
      const f = expectFailure(await generateWith({ kind: 'finish', finishReason }));
      expect(f).toMatchObject({ errorType: 'validation', reason: 'image_blocked' });
      expect(f.message).toContain(finishReason);
    },
  );

  it('NO_IMAGE → validation/no_image', async () => {
    const f = expectFailure(await generateWith({ kind: 'finish', finishReason: 'NO_IMAGE' }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'no_image' });
  });

  it('text only → validation/text_only with a snippet', async () => {
    const f = expectFailure(await generateWith({ kind: 'text-only', text: 'I cannot draw that person.' }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'text_only' });
    expect(f.message).toContain('I cannot draw that person.');
  });

  it('garbage bytes labelled image/png → validation/undecodable_image', async () => {
    const f = expectFailure(await generateWith({ kind: 'not-an-image' }));
    expect(f).toMatchObject({ errorType: 'validation', reason: 'undecodable_image' });
  });

  it('a refused connection → network/connection_refused', async () => {
    const port = await closedPort();
    const dead = createGeminiProvider({
      apiKey: API_KEY,
      model: MODEL,
      apiVersion: 'v1beta',
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 5_000,
      costPerImage: 0.039,
    });
    const f = expectFailure(await dead.generate(request()));
    expect(f).toMatchObject({ errorType: 'network', reason: 'connection_refused' });
  });

  it('falls back to GOOGLE_GEMINI_BASE_URL when no baseUrl is given', async () => {
    const before = fake.requests.length;
    const saved = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = fake.url;
    try {
      const viaEnv = createGeminiProvider({
        apiKey: API_KEY,
        model: MODEL,
        apiVersion: 'v1beta',
        timeoutMs: 5_000,
        costPerImage: 0.039,
      });
      const result = await viaEnv.generate(request());
      expect(result.ok).toBe(true);
      expect(fake.requests.length).toBe(before + 1);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
      else process.env.GOOGLE_GEMINI_BASE_URL = saved;
    }
  });
});

/** A port that was just free: listen, note it, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('createProvider', () => {
  const base = { model: MODEL, apiVersion: 'v1beta', timeoutMs: 1000, costPerImage: 0.039 };

  it('gemini without a key is an InputError', () => {
    expect(() => createProvider({ ...base, provider: 'gemini' })).toThrow(InputError);
    expect(() => createProvider({ ...base, provider: 'gemini' })).toThrow(/GEMINI_API_KEY is not set/);
  });

  it('builds each provider', () => {
    expect(createProvider({ ...base, provider: 'gemini', apiKey: API_KEY }).name).toBe('gemini');
    expect(createProvider({ ...base, provider: 'placeholder' }).name).toBe('placeholder');
  });
});

describe('classifyError', () => {
  it('parses retry delays', () => {
    expect(parseRetryDelay('37s')).toBe(37_000);
    expect(parseRetryDelay('1.5s')).toBe(1500);
    expect(parseRetryDelay({ seconds: '2', nanos: 500_000_000 })).toBe(2500);
    expect(parseRetryDelay('soon')).toBeUndefined();
  });

  it('survives a body that is not JSON', () => {
    const f = classifyHttpError(429, '<html>Too Many Requests</html>');
    expect(f).toMatchObject({ errorType: 'rate_limit', status: 429 });
    expect(f.retryAfterMs).toBeUndefined();
    expect(classifyHttpError(418, 'teapot')).toMatchObject({ errorType: 'unknown', status: 418 });
    expect(classifyHttpError(502, '')).toMatchObject({ errorType: 'api_error' });
  });

  it('reads daily quotas from the metric name too', () => {
    const body = JSON.stringify({
      error: {
        code: 429,
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              { quotaMetric: 'generativelanguage.googleapis.com/generate_requests_per_model_per_day' },
            ],
          },
        ],
      },
    });
    expect(classifyHttpError(429, body).dailyQuota).toBe(true);
  });

  it('maps transport errors by code', () => {
    const fetchFailed = (code: string) =>
      new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    expect(classifyError(fetchFailed('ECONNRESET')).reason).toBe('connection_reset');
    expect(classifyError(fetchFailed('ECONNREFUSED')).reason).toBe('connection_refused');
    expect(classifyError(fetchFailed('ENOTFOUND'))).toMatchObject({
      errorType: 'network',
      reason: 'network',
    });
    expect(classifyError(fetchFailed('EAI_AGAIN'))).toMatchObject({
      errorType: 'network',
      reason: 'network',
    });
    const aggregate = new TypeError('fetch failed', {
      cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
    });
    expect(classifyError(aggregate).reason).toBe('connection_refused');
    expect(classifyError(new DOMException('t', 'TimeoutError')).reason).toBe('timeout');
    expect(classifyError(new SyntaxError('Unexpected end'))).toMatchObject({ reason: 'malformed_reply' });
    expect(classifyError(new RangeError('odd'))).toMatchObject({ errorType: 'unknown', reason: 'unknown' });
    expect(classifyError('a string')).toMatchObject({ errorType: 'unknown' });
  });

  it('scrubs the key and caps the length', () => {
    const text = `key=${API_KEY} ${'x'.repeat(1000)}`;
    const out = cleanMessage(text, API_KEY);
    expect(out).not.toContain(API_KEY);
    expect(out.length).toBeLessThanOrEqual(300);
    expect(classifyError(new Error(`bad ${API_KEY}`), { apiKey: API_KEY }).message).not.toContain(API_KEY);
  });
});
