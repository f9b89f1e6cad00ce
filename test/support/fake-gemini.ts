import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jpeg from 'jpeg-js';
import { decodePixels } from '../../src/images/inspect.ts';
import { createPlaceholderProvider } from '../../src/providers/placeholder.ts';
import { type AspectRatio, SIZE_FOR_ASPECT } from '../../src/providers/types.ts';
import { createFakeJudge, type FakeJudge } from './fake-gemini-judge.ts';

/**
 * A loopback stand-in for the Gemini API, answering the real @google/genai client.
 * Each generateContent request gets a reply chosen by (in order): the rpm quota, the handler,
 * the queue, the default.
 */

export type FakeReply =
  | { kind: 'image'; mimeType?: 'image/png' | 'image/jpeg'; bytes?: Uint8Array }
  | { kind: 'rate-limit'; retryDelaySec?: number; daily?: boolean }
  | { kind: 'status'; status: 400 | 401 | 402 | 403 | 500 | 503 | 504; message?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'broken-json' }
  | { kind: 'prompt-blocked'; reason?: string }
  | { kind: 'finish'; finishReason: 'IMAGE_SAFETY' | 'NO_IMAGE' | 'SAFETY' | 'IMAGE_PROHIBITED_CONTENT' }
  | { kind: 'text-only'; text?: string }
  | { kind: 'not-an-image' }
  /** A structured-output (responseMimeType application/json) answer: `value` as JSON text. */
  | { kind: 'json'; value: unknown };

export type TimedReply = FakeReply & { latencyMs?: number };

export interface FakeGeminiOptions {
  /** Enforced quota: more than this many generateContent requests in any rolling 60 s window → 429 with RetryInfo (retryDelay = time until a slot frees, rounded up to whole seconds as the real API does, e.g. "37s"). */
  requestsPerMinute?: number;
  /** Latency before each answer in ms (default 0). */
  latencyMs?: number;
  /** Injected clock for the quota window (default Date.now). */
  now?: () => number;
  /** More routes (batchGenerateContent, batches/…) tried before generateContent; the first match answers. */
  extraRoutes?: FakeRoute[];
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  model: string;
  apiKey: string | undefined;
  body: unknown;
  prompt: string;
  aspectRatio?: string;
  reply: FakeReply['kind'] | 'quota';
}

/** A route added by a later fake (batch mode): `match` gets the path without query; return true if handled. */
export interface FakeRoute {
  method: string;
  path: RegExp;
  /** When given, the route answers only requests whose parsed body it accepts. */
  accepts?: (body: unknown) => boolean;
  handle(ctx: {
    req: IncomingMessage;
    res: ServerResponse;
    match: RegExpExecArray;
    body: unknown;
  }): Promise<void> | void;
}

export interface FakeGemini {
  url: string;
  /** Image (and case) requests; the vision judge's requests are in `judge.requests`. */
  requests: RecordedRequest[];
  /** The vision judge's scripted answers (test/support/fake-gemini-judge.ts); default: pass. */
  judge: FakeJudge;
  /** Replies for the next requests, in order; when the queue is empty the default reply is used. */
  enqueue(...replies: TimedReply[]): void;
  /** Reply chosen per request, e.g. by prompt; return undefined to fall back to the queue/default. */
  setHandler(h: ((req: RecordedRequest) => TimedReply | undefined) | undefined): void;
  setDefault(reply: FakeReply): void;
  /** Resolves when `n` requests in total have been received (for tests that wait for an event instead of sleeping). */
  waitForRequests(n: number): Promise<void>;
  count(kind?: FakeReply['kind'] | 'quota'): number;
  /** Also ends hanging requests and keep-alive sockets. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Reply bodies (exported so a batch fake can put the same responses into inlinedResponses).

const WINDOW_MS = 60_000;

function isAspect(value: string | undefined): value is AspectRatio {
  return value !== undefined && Object.hasOwn(SIZE_FOR_ASPECT, value);
}

/** The placeholder stamps a tEXt marker so scans can spot it; a "Gemini" image must not carry it. */
function stripTextChunks(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const keep: Uint8Array[] = [png.subarray(0, 8)];
  let at = 8;
  while (at + 12 <= png.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(png[at + 4] ?? 0, png[at + 5] ?? 0, png[at + 6] ?? 0, png[at + 7] ?? 0);
    const end = at + 12 + length;
    if (type !== 'tEXt') keep.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(keep);
}

interface CachedImage {
  bytes: Uint8Array;
  base64: string;
}

// Shared by every fake in the process, so benches and many tests pay for each encoding once.
const imageCache = new Map<string, Promise<CachedImage>>();
const IMAGE_CACHE_MAX = 512;

/** A valid image of Gemini's size for the aspect ratio, drawn from the prompt so images of a case differ. */
export function defaultImage(
  prompt: string,
  aspectRatio: string | undefined,
  mimeType: 'image/png' | 'image/jpeg' = 'image/png',
): Promise<CachedImage> {
  const aspect: AspectRatio = isAspect(aspectRatio) ? aspectRatio : '1:1';
  const key = `${mimeType}\0${aspect}\0${prompt}`;
  const hit = imageCache.get(key);
  if (hit) return hit;
  const made = (async (): Promise<CachedImage> => {
    const result = await createPlaceholderProvider().generate({
      kind: aspect === '16:9' ? 'scene' : 'suspect',
      caseId: 'fake',
      imageId: 'fake',
      prompt,
      aspectRatio: aspect,
    });
    if (!result.ok) throw new Error(`placeholder failed: ${result.message}`);
    let bytes = stripTextChunks(result.bytes);
    if (mimeType === 'image/jpeg') {
      const pixels = decodePixels(bytes);
      if (!pixels) throw new Error('cannot decode the placeholder PNG');
      bytes = jpeg.encode({ data: pixels.data, width: pixels.width, height: pixels.height }, 85).data;
    }
    return { bytes, base64: Buffer.from(bytes).toString('base64') };
  })();
  if (imageCache.size >= IMAGE_CACHE_MAX) {
    const oldest = imageCache.keys().next().value;
    if (oldest !== undefined) imageCache.delete(oldest);
  }
  imageCache.set(key, made);
  made.catch(() => imageCache.delete(key));
  return made;
}

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  402: 'FAILED_PRECONDITION',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const DEFAULT_STATUS_MESSAGE: Record<number, string> = {
  400: 'Request contains an invalid argument.',
  401: 'Request is missing required authentication credential.',
  402: 'Your prepayment credits are depleted. Please go to AI Studio to manage your project and billing.',
  403: 'Method doesn\u2019t allow unregistered callers (callers without established identity).',
  404: 'Not found.',
  500: 'An internal error has occurred.',
  503: 'The model is overloaded. Please try again later.',
  504: 'The request timed out. Please try again.',
};

export function googleError(
  code: number,
  message: string,
  details: Array<Record<string, unknown>> = [],
): { error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> } } {
  return {
    error: {
      code,
      message,
      status: GOOGLE_STATUS[code] ?? 'UNKNOWN',
      ...(details.length ? { details } : {}),
    },
  };
}

export function rateLimitError(
  model: string,
  opts: { retryDelaySec?: number | undefined; daily?: boolean | undefined },
): ReturnType<typeof googleError> {
  const perDay = opts.daily === true;
  const details: Array<Record<string, unknown>> = [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [
        {
          quotaMetric: perDay
            ? 'generativelanguage.googleapis.com/generate_requests_per_model_per_day'
            : 'generativelanguage.googleapis.com/generate_requests_per_model',
          quotaId: perDay
            ? 'GenerateRequestsPerDayPerProjectPerModel'
            : 'GenerateRequestsPerMinutePerProjectPerModel',
          quotaDimensions: { location: 'global', model },
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/google.rpc.Help',
      links: [
        {
          description: 'Learn more about Gemini API quotas',
          url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
        },
      ],
    },
  ];
  if (opts.retryDelaySec !== undefined) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.RetryInfo',
      retryDelay: `${opts.retryDelaySec}s`,
    });
  }
  return googleError(
    429,
    `You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: ${
      perDay ? 'generate_requests_per_model_per_day' : 'generate_requests_per_model'
    }, model: ${model}`,
    details,
  );
}

/*
 * An image reply's usage: 1,290 image tokens for a 1024-px image of 2.5 Flash Image (Google's
 * pricing page: $30 per 1M image tokens = $0.039 an image), broken down by modality as the API
 * does (`candidatesTokensDetails: [{ modality: "IMAGE", tokenCount }]`, langchain-ai/langchain#37848;
 * `promptTokensDetails` likewise, langchain-ai/langchain-google#1053).
 */
const USAGE = {
  promptTokenCount: 12,
  candidatesTokenCount: 1290,
  totalTokenCount: 1302,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 12 }],
  candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
};

/** What a 200 generateContent answer holds for a reply kind that has one. */
export async function generateContentBody(
  reply: FakeReply,
  ctx: { prompt: string; aspectRatio?: string | undefined; model: string },
): Promise<unknown> {
  const envelope = { usageMetadata: USAGE, modelVersion: ctx.model, responseId: randomUUID() };
  const candidate = (parts: unknown[], finishReason = 'STOP') => ({
    candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }],
    ...envelope,
  });
  switch (reply.kind) {
    case 'image': {
      const mimeType = reply.mimeType ?? 'image/png';
      const data = reply.bytes
        ? Buffer.from(reply.bytes).toString('base64')
        : (await defaultImage(ctx.prompt, ctx.aspectRatio, mimeType)).base64;
      return candidate([{ inlineData: { mimeType, data } }]);
    }
    case 'prompt-blocked':
      return { promptFeedback: { blockReason: reply.reason ?? 'PROHIBITED_CONTENT' }, ...envelope };
    case 'finish':
      // A refused image comes back with a finish reason and no content at all.
      return { candidates: [{ finishReason: reply.finishReason, index: 0 }], ...envelope };
    case 'text-only':
      return candidate([
        { text: reply.text ?? 'I can describe the suspect, but I cannot draw this picture.' },
      ]);
    case 'not-an-image':
      return candidate([
        {
          inlineData: {
            mimeType: 'image/png',
            data: Buffer.from('this is not a PNG at all').toString('base64'),
          },
        },
      ]);
    case 'json':
      return candidate([{ text: JSON.stringify(reply.value) }]);
    default:
      throw new Error(`reply kind ${reply.kind} has no 200 body`);
  }
}

// ---------------------------------------------------------------------------------------------
// Request parsing.

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function promptOf(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.contents)) return '';
  const texts: string[] = [];
  for (const content of body.contents) {
    if (!isRecord(content) || !Array.isArray(content.parts)) continue;
    for (const part of content.parts)
      if (isRecord(part) && typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('\n');
}

function aspectOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const gc = body.generationConfig;
  if (!isRecord(gc) || !isRecord(gc.imageConfig)) return undefined;
  const ar = gc.imageConfig.aspectRatio;
  return typeof ar === 'string' ? ar : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const GENERATE_CONTENT = /^\/([^/]+)\/models\/([^/:]+):generateContent$/;

// ---------------------------------------------------------------------------------------------

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const now = options.now ?? Date.now;
  const requests: RecordedRequest[] = [];
  const queue: TimedReply[] = [];
  let handler: ((req: RecordedRequest) => TimedReply | undefined) | undefined;
  let defaultReply: FakeReply = { kind: 'image' };
  /** Start times of requests that counted against the rpm quota. */
  const admitted: number[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const timers = new Set<NodeJS.Timeout>();
  const judge = createFakeJudge();

  function record(entry: RecordedRequest): void {
    requests.push(entry);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w && requests.length >= w.n) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Returns the seconds until a slot frees, or undefined when the request is within quota. */
  function quotaWait(at: number): number | undefined {
    const rpm = options.requestsPerMinute;
    if (rpm === undefined) return undefined;
    while (admitted.length && (admitted[0] ?? 0) <= at - WINDOW_MS) admitted.shift();
    if (admitted.length < rpm) {
      admitted.push(at);
      return undefined;
    }
    const oldest = admitted[admitted.length - rpm] ?? at;
    return Math.max(1, Math.ceil((oldest + WINDOW_MS - at) / 1000));
  }

  function delay(ms: number, res: ServerResponse): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!res.destroyed);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve(!res.destroyed);
      }, ms);
      timers.add(t);
    });
  }

  async function generateContent(
    req: IncomingMessage,
    res: ServerResponse,
    match: RegExpExecArray,
    rawBody: string,
    path: string,
  ): Promise<void> {
    const model = match[2] ?? '';
    const header = req.headers['x-goog-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    let body: unknown;
    let bodyOk = true;
    try {
      body = JSON.parse(rawBody);
    } catch {
      bodyOk = false;
    }
    const entry: RecordedRequest = {
      at: now(),
      method: req.method ?? '',
      path,
      model,
      apiKey,
      body,
      prompt: promptOf(body),
      reply: 'status',
    };
    const aspectRatio = aspectOf(body);
    if (aspectRatio !== undefined) entry.aspectRatio = aspectRatio;

    if (!apiKey) {
      record(entry);
      sendJson(res, 401, googleError(401, DEFAULT_STATUS_MESSAGE[401] ?? ''));
      return;
    }
    if (!bodyOk) {
      record(entry);
      sendJson(res, 400, googleError(400, 'Invalid JSON payload received.'));
      return;
    }

    const wait = quotaWait(entry.at);
    if (wait !== undefined) {
      entry.reply = 'quota';
      record(entry);
      // The real API refuses over-quota requests at once, before any generation latency.
      sendJson(res, 429, rateLimitError(model, { retryDelaySec: wait }));
      return;
    }
    const reply: TimedReply = handler?.(entry) ?? queue.shift() ?? defaultReply;
    entry.reply = reply.kind;
    record(entry);

    if (!(await delay(reply.latencyMs ?? options.latencyMs ?? 0, res))) return;
    switch (reply.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        // Left open on purpose: the client's abort or close() → closeAllConnections ends it.
        return;
      case 'broken-json':
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end('{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "da');
        return;
      case 'rate-limit':
        sendJson(res, 429, rateLimitError(model, reply));
        return;
      case 'status':
        sendJson(
          res,
          reply.status,
          googleError(reply.status, reply.message ?? DEFAULT_STATUS_MESSAGE[reply.status] ?? 'Error'),
        );
        return;
      default:
        sendJson(res, 200, await generateContentBody(reply, { prompt: entry.prompt, aspectRatio, model }));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const rawBody = await readBody(req);
    for (const route of [judge.route, ...(options.extraRoutes ?? [])]) {
      const m = req.method === route.method ? route.path.exec(path) : null;
      if (!m) continue;
      let body: unknown;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        if (route.accepts) continue;
        sendJson(res, 400, googleError(400, 'Invalid JSON payload received.'));
        return;
      }
      if (route.accepts && !route.accepts(body)) continue;
      await route.handle({ req, res, match: m, body });
      return;
    }
    const m = GENERATE_CONTENT.exec(path);
    if (req.method === 'POST' && m) {
      await generateContent(req, res, m, rawBody, path);
      return;
    }
    sendJson(res, 404, googleError(404, `no route for ${req.method} ${path}`));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      sendJson(
        res,
        500,
        googleError(500, `fake-gemini: ${error instanceof Error ? error.message : String(error)}`),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    judge,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    setHandler: (h) => {
      handler = h;
    },
    setDefault: (reply) => {
      defaultReply = reply;
    },
    waitForRequests: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    count: (kind) => (kind === undefined ? requests.length : requests.filter((r) => r.reply === kind).length),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        judge.release();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
