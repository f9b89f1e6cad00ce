import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import jpeg from 'jpeg-js';
import { type ImageSize, isGemini3ImageModel } from '../../src/config/pricing.ts';
import { decodePixels } from '../../src/images/inspect.ts';
import { renderPlaceholderPng } from '../../src/providers/placeholder.ts';
import { type AspectRatio, GEMINI3_SIZE_FOR_ASPECT, SIZE_FOR_ASPECT } from '../../src/providers/types.ts';
import { createFakeJudge, type FakeJudge } from './fake-gemini-judge.ts';
import { type FakeRoute, isRecord, sendJson } from './fake-route.ts';

/**
 * A loopback stand-in for the Gemini API, answering the real @google/genai client.
 * Each generateContent request gets a reply chosen by (in order): the rpm quota, the handler,
 * the queue, the default.
 */

export type FakeReply =
  | {
      kind: 'image';
      mimeType?: 'image/png' | 'image/jpeg';
      bytes?: Uint8Array;
      /** Interim images marked `thought: true` before the final one (Gemini 3 image models send up to two). */
      thoughts?: number;
      /** The final image flagged `thought: true` as well (seen from Gemini 3 Pro Image, Lixpi/lixpi#136). */
      finalFlagged?: boolean;
    }
  | {
      kind: 'rate-limit';
      retryDelaySec?: number;
      daily?: boolean;
      /**
       * `retry-info` (default): QuotaFailure + Help + RetryInfo. `help-only`: no RetryInfo, the delay
       * only in the message text ("Please retry in 20.04s."). `no-quota`: the project has no quota
       * for the model (limit: 0 in the message, quotaValue "0").
       */
      shape?: 'retry-info' | 'help-only' | 'no-quota';
    }
  /** 404 NOT_FOUND for a retired model, as generateContent answers it. */
  | { kind: 'model-not-found' }
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
  /**
   * The models the fake knows (models.get, models.list); any other model answers 404 NOT_FOUND on
   * models.get and generateContent. Default: every model is known.
   */
  models?: string[];
}

interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  model: string;
  apiKey: string | undefined;
  body: unknown;
  prompt: string;
  aspectRatio?: string;
  imageSize?: string;
  reply: FakeReply['kind'] | 'quota';
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
  /** Retires models from now on: models.get, models.list and generateContent stop knowing them. */
  retire(...models: string[]): void;
  /** models.get and models.list calls received, in order. */
  modelCalls: Array<{ method: 'get' | 'list'; model?: string }>;
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

const SIZE_FACTOR: Record<ImageSize, number> = { '1K': 1, '2K': 2, '4K': 4 };

/**
 * The pixel size a model returns: Gemini 3 image models 896x1200 for 3:4 and 1376x768 for 16:9 at
 * 1K (Google's image-generation guide, resolution table of the Gemini 3 image models), doubled at
 * 2K; Gemini 2.5 Flash Image 864x1184 and 1344x768.
 */
export function modelPixelSize(
  model: string,
  aspectRatio: string | undefined,
  imageSize: string | undefined,
): { width: number; height: number } {
  const aspect: AspectRatio = isAspect(aspectRatio) ? aspectRatio : '1:1';
  if (!isGemini3ImageModel(model)) return SIZE_FOR_ASPECT[aspect];
  const factor = SIZE_FACTOR[(imageSize ?? '1K') as ImageSize] ?? 1;
  const base = GEMINI3_SIZE_FOR_ASPECT[aspect];
  return { width: base.width * factor, height: base.height * factor };
}

/** A valid image of the given size (default: Gemini 2.5's for the aspect ratio), drawn from the prompt so images of a case differ. */
export function defaultImage(
  prompt: string,
  aspectRatio: string | undefined,
  mimeType: 'image/png' | 'image/jpeg' = 'image/png',
  size?: { width: number; height: number },
): Promise<CachedImage> {
  const aspect: AspectRatio = isAspect(aspectRatio) ? aspectRatio : '1:1';
  const { width, height } = size ?? SIZE_FOR_ASPECT[aspect];
  const key = `${mimeType}\0${aspect}\0${width}x${height}\0${prompt}`;
  const hit = imageCache.get(key);
  if (hit) return hit;
  const made = (async (): Promise<CachedImage> => {
    const png = renderPlaceholderPng(prompt, width, height, aspect === '16:9' ? 'scene' : 'suspect');
    let bytes = stripTextChunks(png);
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

/**
 * 429 shapes Gemini was seen to send:
 * - `retry-info`: QuotaFailure + Help + RetryInfo, as the rate-limits docs describe and
 *   google-gemini/gemini-cli#8437 shows (QuotaFailure violations with quotaId, then a Help link).
 * - `help-only`: no RetryInfo, the delay only in the message, "… Quota exceeded for metric: …,
 *   limit: 125000, model: gemini-2.5-pro\nPlease retry in 45.218844857s." with a Help and a
 *   QuotaFailure detail (continuedev/continue#8947).
 * - `no-quota`: the free tier on an image model, "* Quota exceeded for metric:
 *   generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: …"
 *   (googleapis/js-genai#1322), its QuotaFailure violations carrying quotaValue like
 *   google-gemini/gemini-cli-action#36 ("quotaValue": "250000"), here "0".
 */
function rateLimitError(
  model: string,
  opts: {
    retryDelaySec?: number | undefined;
    daily?: boolean | undefined;
    shape?: 'retry-info' | 'help-only' | 'no-quota' | undefined;
  },
): ReturnType<typeof googleError> {
  if (opts.shape === 'help-only') return helpOnlyRateLimit(model, opts.retryDelaySec ?? 20.04);
  if (opts.shape === 'no-quota') return noQuotaRateLimit(model);
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

const HELP = {
  '@type': 'type.googleapis.com/google.rpc.Help',
  links: [
    {
      description: 'Learn more about Gemini API quotas',
      url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
    },
  ],
};

function helpOnlyRateLimit(model: string, seconds: number): ReturnType<typeof googleError> {
  // As quoted in continuedev/continue#8947: a per-minute free-tier token quota, the delay only in the text.
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count';
  return googleError(
    429,
    `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: ${metric}, limit: 125000, model: ${model}\nPlease retry in ${seconds}s.`,
    [
      HELP,
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: metric,
            quotaId: 'GenerateContentInputTokensPerModelPerMinute-FreeTier',
            quotaDimensions: { location: 'global', model },
          },
        ],
      },
    ],
  );
}

function noQuotaRateLimit(model: string): ReturnType<typeof googleError> {
  // The message as quoted in googleapis/js-genai#1322 (a new free-tier project on an image model,
  // "model quota now 0" in Twarner491/AvianVisitors#9); the violations as gemini-cli#8437 lists
  // them for the free tier, each with the quotaValue field gemini-cli-action#36 shows.
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
  return googleError(
    429,
    `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: ${metric}, limit: 0, model: ${model}\n* Quota exceeded for metric: ${metric}, limit: 0, model: ${model}`,
    [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: metric,
            quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
            quotaDimensions: { location: 'global', model },
            quotaValue: '0',
          },
          {
            quotaMetric: metric,
            quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
            quotaDimensions: { location: 'global', model },
            quotaValue: '0',
          },
        ],
      },
      HELP,
    ],
  );
}

/**
 * A retired model on generateContent: "models/gemini-2.0-flash-live-001 is not found for API
 * version v1beta, or is not supported for generateContent. Call ListModels to see the list of
 * available models and their supported methods." with status NOT_FOUND (google/adk-python#200,
 * continuedev/continue#9939).
 */
function modelNotFoundError(model: string, apiVersion: string, method = 'generateContent') {
  return googleError(
    404,
    `models/${model} is not found for API version ${apiVersion}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
  );
}

/**
 * models.get of a model the API does not know: 404 NOT_FOUND "Requested entity was not found."
 * (the Google API's generic NOT_FOUND body, google-gemini/gemini-cli#4764, gzzhongqi/geminicli2api#18).
 */
function entityNotFoundError() {
  return googleError(404, 'Requested entity was not found.');
}

/** A Model resource as models.get / models.list return it (ai.google.dev/api/models#Model). */
function modelResource(id: string): Record<string, unknown> {
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id,
    description: `Fake ${id}`,
    inputTokenLimit: 131072,
    outputTokenLimit: 32768,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'batchGenerateContent'],
  };
}

/*
 * A Gemini 2.5 image reply's usage: 1,290 image tokens for a 1024-px image of 2.5 Flash Image
 * (Google's pricing page: $30 per 1M image tokens = $0.039 an image), broken down by modality as
 * the API does (`candidatesTokensDetails: [{ modality: "IMAGE", tokenCount }]`,
 * langchain-ai/langchain#37848; `promptTokensDetails` likewise, langchain-ai/langchain-google#1053).
 */
const USAGE = {
  promptTokenCount: 12,
  candidatesTokenCount: 1290,
  totalTokenCount: 1302,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 12 }],
  candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
};

/**
 * Gemini 3 image replies report image tokens by modality and thoughts apart from the candidates
 * (langchain-ai/langchain-google#1053: candidates 15, thoughts 540, total 559 = 4 + 15 + 540;
 * PostHog/posthog#45801 on candidatesTokensDetails with modality IMAGE).
 */
function gemini3Usage(imageTokens: number) {
  const prompt = 12;
  const text = 0;
  const thoughts = 180;
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: imageTokens + text,
    thoughtsTokenCount: thoughts,
    totalTokenCount: prompt + imageTokens + text + thoughts,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
    candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: imageTokens }],
  };
}

const IMAGE_TOKENS: Record<string, number> = { '1K': 1120, '2K': 1680, '4K': 3780 };

/** What a 200 generateContent answer holds for a reply kind that has one. */
export async function generateContentBody(
  reply: FakeReply,
  ctx: { prompt: string; aspectRatio?: string | undefined; model: string; imageSize?: string | undefined },
): Promise<unknown> {
  const gemini3 = isGemini3ImageModel(ctx.model);
  const usageMetadata = gemini3 ? gemini3Usage(IMAGE_TOKENS[ctx.imageSize ?? '1K'] ?? 1120) : USAGE;
  const envelope = { usageMetadata, modelVersion: ctx.model, responseId: randomUUID() };
  const size = modelPixelSize(ctx.model, ctx.aspectRatio, ctx.imageSize);
  const candidate = (parts: unknown[], finishReason = 'STOP') => ({
    candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }],
    ...envelope,
  });
  switch (reply.kind) {
    case 'image': {
      const mimeType = reply.mimeType ?? 'image/png';
      const data = reply.bytes
        ? Buffer.from(reply.bytes).toString('base64')
        : (await defaultImage(ctx.prompt, ctx.aspectRatio, mimeType, size)).base64;
      // Thinking image models send interim drafts as parts with `thought: true` (and a thought
      // signature) before the final image (Google's image-generation guide, "Thinking process").
      const drafts = [];
      for (let i = 1; i <= (reply.thoughts ?? 0); i++) {
        const draft = await defaultImage(`${ctx.prompt}\ndraft ${i}`, ctx.aspectRatio, 'image/png', size);
        drafts.push({ inlineData: { mimeType: 'image/png', data: draft.base64 }, thought: true });
      }
      const final = {
        inlineData: { mimeType, data },
        ...(reply.finalFlagged ? { thought: true } : {}),
        ...(reply.thoughts ? { thoughtSignature: Buffer.from('fake-signature').toString('base64') } : {}),
      };
      return candidate([...drafts, final]);
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

function imageSizeOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const gc = body.generationConfig;
  if (!isRecord(gc) || !isRecord(gc.imageConfig)) return undefined;
  const size = gc.imageConfig.imageSize;
  return typeof size === 'string' ? size : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const GENERATE_CONTENT = /^\/([^/]+)\/models\/([^/:]+):generateContent$/;
const MODELS_GET = /^\/([^/]+)\/models\/([^/:]+)$/;
const MODELS_LIST = /^\/([^/]+)\/models$/;

// ---------------------------------------------------------------------------------------------

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const now = options.now ?? Date.now;
  const requests: RecordedRequest[] = [];
  const queue: TimedReply[] = [];
  let handler: ((req: RecordedRequest) => TimedReply | undefined) | undefined;
  let defaultReply: FakeReply = { kind: 'image' };
  const known = options.models ? new Set(options.models) : undefined;
  const retired = new Set<string>();
  const knows = (model: string) => !retired.has(model) && (!known || known.has(model));
  /** models.get / models.list calls, apart from generateContent's requests. */
  const modelCalls: Array<{ method: 'get' | 'list'; model?: string }> = [];
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
    const imageSize = imageSizeOf(body);
    if (imageSize !== undefined) entry.imageSize = imageSize;

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

    if (!knows(model)) {
      entry.reply = 'model-not-found';
      record(entry);
      sendJson(res, 404, modelNotFoundError(model, match[1] ?? 'v1beta'));
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
      case 'model-not-found':
        sendJson(res, 404, modelNotFoundError(model, match[1] ?? 'v1beta'));
        return;
      case 'status':
        sendJson(
          res,
          reply.status,
          googleError(reply.status, reply.message ?? DEFAULT_STATUS_MESSAGE[reply.status] ?? 'Error'),
        );
        return;
      default:
        sendJson(
          res,
          200,
          await generateContentBody(reply, { prompt: entry.prompt, aspectRatio, model, imageSize }),
        );
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
    const get = req.method === 'GET' ? MODELS_GET.exec(path) : null;
    if (get) {
      const model = get[2] ?? '';
      modelCalls.push({ method: 'get', model });
      if (!req.headers['x-goog-api-key'])
        sendJson(res, 401, googleError(401, DEFAULT_STATUS_MESSAGE[401] ?? ''));
      else if (knows(model)) sendJson(res, 200, modelResource(model));
      else sendJson(res, 404, entityNotFoundError());
      return;
    }
    if (req.method === 'GET' && MODELS_LIST.test(path)) {
      modelCalls.push({ method: 'list' });
      const ids = [...(known ?? [])].filter(knows);
      sendJson(res, 200, { models: ids.map(modelResource) });
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
    retire: (...models) => {
      for (const m of models) retired.add(m);
    },
    modelCalls,
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
