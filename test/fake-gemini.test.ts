import { afterEach, describe, expect, it } from 'vitest';
import { verifyImage } from '../src/images/inspect.ts';
import { isPlaceholderPng } from '../src/providers/placeholder.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';

const KEY = 'test-key';
let fake: FakeGemini | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { 'x-goog-api-key': KEY },
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/v1beta/models/gemini-2.5-flash-image:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const body = (prompt: string, aspectRatio = '1:1') => ({
  contents: [{ role: 'user', parts: [{ text: prompt }] }],
  generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio } },
});

describe('fake gemini', () => {
  it('enforces the rpm quota over a rolling window with RetryInfo', async () => {
    let clock = 1_000_000;
    fake = await startFakeGemini({ requestsPerMinute: 2, now: () => clock });
    expect((await post(fake.url, body('a'))).status).toBe(200);
    clock += 23_000;
    expect((await post(fake.url, body('b'))).status).toBe(200);
    clock += 100;
    const limited = await post(fake.url, body('c'));
    expect(limited.status).toBe(429);
    // The first slot frees 60 s after the first request: 36.9 s from now, rounded up.
    expect(JSON.stringify(limited.json)).toContain('"retryDelay":"37s"');
    expect(limited.json).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect(fake.count('quota')).toBe(1);
    clock += 37_000;
    expect((await post(fake.url, body('d'))).status).toBe(200);
    expect((await post(fake.url, body('e'))).status).toBe(429);
    expect(fake.count('image')).toBe(3);
    expect(fake.count()).toBe(5);
  });

  it('waitForRequests resolves once enough requests arrived', async () => {
    fake = await startFakeGemini();
    const server = fake;
    let done = false;
    const waiting = server.waitForRequests(2).then(() => {
      done = true;
    });
    await post(server.url, body('one'));
    expect(done).toBe(false);
    await post(server.url, body('two'));
    await waiting;
    expect(done).toBe(true);
    await server.waitForRequests(1);
  });

  it('serves Gemini-sized images that are not placeholder-marked', async () => {
    fake = await startFakeGemini();
    const res = await post(fake.url, body('scene prompt', '16:9'));
    const data = (
      res.json as { candidates: Array<{ content: { parts: Array<{ inlineData: { data: string } }> } }> }
    ).candidates[0]?.content.parts[0]?.inlineData.data;
    const bytes = new Uint8Array(Buffer.from(data ?? '', 'base64'));
    const checked = verifyImage(bytes);
    expect(checked.ok && checked.header).toMatchObject({ mimeType: 'image/png', width: 1344, height: 768 });
    expect(isPlaceholderPng(bytes)).toBe(false);
    expect(fake.requests[0]).toMatchObject({ aspectRatio: '16:9', prompt: 'scene prompt', apiKey: KEY });
  });

  it('answers 401 without a key, 404 for unknown routes, and follows handler over queue over default', async () => {
    fake = await startFakeGemini();
    expect((await post(fake.url, body('x'), {})).status).toBe(401);
    const notFound = await fetch(`${fake.url}/v1beta/files`, { method: 'GET' });
    expect(notFound.status).toBe(404);
    await notFound.body?.cancel();

    fake.enqueue({ kind: 'status', status: 503 });
    fake.setHandler((r) => (r.prompt === 'special' ? { kind: 'status', status: 500 } : undefined));
    expect((await post(fake.url, body('special'))).status).toBe(500);
    expect((await post(fake.url, body('normal'))).status).toBe(503);
    fake.setDefault({ kind: 'status', status: 504 });
    expect((await post(fake.url, body('normal'))).status).toBe(504);
  });

  it('close() ends hanging requests', async () => {
    fake = await startFakeGemini();
    fake.setDefault({ kind: 'hang' });
    const pending = post(fake.url, body('hang')).then(
      () => 'answered',
      () => 'failed',
    );
    await fake.waitForRequests(1);
    await fake.close();
    fake = undefined;
    expect(await pending).toBe('failed');
  });
});

describe('fake gemini: the shapes of issue 9 on the wire', () => {
  const get = async (url: string, path: string) => {
    const res = await fetch(`${url}${path}`, { headers: { 'x-goog-api-key': KEY } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('answers models.get and models.list for its catalogue, 404 NOT_FOUND for the rest', async () => {
    fake = await startFakeGemini({ models: ['gemini-nano-banana-2.1', 'gemini-3.8-flash'] });
    expect(await get(fake.url, '/v1beta/models/gemini-nano-banana-2.1')).toMatchObject({
      status: 200,
      json: {
        name: 'models/gemini-nano-banana-2.1',
        supportedGenerationMethods: expect.arrayContaining(['generateContent']),
      },
    });
    expect(await get(fake.url, '/v1beta/models/gemini-2.5-flash-image')).toMatchObject({
      status: 404,
      json: { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.' } },
    });
    const list = await get(fake.url, '/v1beta/models');
    expect((list.json.models as Array<{ name: string }>).map((m) => m.name)).toEqual([
      'models/gemini-nano-banana-2.1',
      'models/gemini-3.8-flash',
    ]);
    const retired = await post(fake.url, body('x'));
    expect(retired.status).toBe(404);
    expect(JSON.stringify(retired.json)).toContain(
      'models/gemini-2.5-flash-image is not found for API version v1beta, or is not supported for generateContent',
    );
  });

  it('sends a Help-only 429 with the delay in the message, and limit: 0 with quotaValue "0"', async () => {
    fake = await startFakeGemini();
    fake.enqueue(
      { kind: 'rate-limit', shape: 'help-only', retryDelaySec: 20.04 },
      { kind: 'rate-limit', shape: 'no-quota' },
    );
    const help = JSON.stringify((await post(fake.url, body('a'))).json);
    expect(help).toContain('Please retry in 20.04s.');
    expect(help).toContain('google.rpc.Help');
    expect(help).not.toContain('RetryInfo');
    const zero = JSON.stringify((await post(fake.url, body('b'))).json);
    expect(zero).toContain('generate_content_free_tier_requests, limit: 0, model: gemini-2.5-flash-image');
    expect(zero).toContain('"quotaValue":"0"');
  });

  it('puts thought images before the final one', async () => {
    fake = await startFakeGemini();
    fake.enqueue({ kind: 'image', thoughts: 2 });
    const reply = (await post(fake.url, body('a'))).json as {
      candidates: Array<{ content: { parts: Array<{ thought?: boolean; inlineData?: unknown }> } }>;
    };
    const parts = reply.candidates[0]?.content.parts ?? [];
    expect(parts.map((p) => p.thought ?? false)).toEqual([true, true, false]);
    expect(parts.every((p) => p.inlineData)).toBe(true);
  });
});
