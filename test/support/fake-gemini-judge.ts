import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type FakeRoute, isRecord, sendJson } from './fake-route.ts';

/**
 * The vision judge's side of the fake Gemini: generateContent requests that ask for structured
 * output with the judge's schema (`pass`, `score`, `issues`) are answered here, scripted per test.
 *
 * Reply shapes are the real API's:
 * - Structured output: with `responseMimeType: "application/json"` and a `responseJsonSchema`
 *   (or `responseSchema`), the JSON arrives as text in `candidates[0].content.parts[0].text`
 *   (https://ai.google.dev/gemini-api/docs/structured-output; the SDK's `response.text` getter
 *   reads exactly that part). Nothing guarantees the text fits the schema in every detail, hence
 *   "schema-break" below (a score outside 0–1 and a missing field), which the judge must survive.
 * - usageMetadata of a text reply about an image: `promptTokensDetails` lists TEXT and IMAGE
 *   modalities, `candidatesTokensDetails` TEXT (https://ai.google.dev/api/generate-content#UsageMetadata;
 *   the breakdown as seen in langchain-ai/langchain-google#1053), thinking in `thoughtsTokenCount`.
 * - Errors use the google.rpc shape the main fake sends (googleError/rateLimitError there).
 */

type JudgeReply =
  | { kind: 'pass'; score?: number }
  | { kind: 'fail'; score?: number; issues: Array<{ check: string; detail: string }> }
  /** The server never answers: the client's timeout ends it. */
  | { kind: 'timeout' }
  /** Valid JSON that breaks the schema: score 1.7, `pass` missing. */
  | { kind: 'schema-break' }
  | { kind: 'status'; status: 429 | 500 | 503; retryDelaySec?: number };

export interface JudgeRecorded {
  model: string;
  rubric: string;
  images: Array<{ mimeType: string; bytes: number }>;
  responseMimeType: unknown;
  responseJsonSchema: unknown;
  reply: JudgeReply['kind'];
}

export interface FakeJudge {
  route: FakeRoute;
  requests: JudgeRecorded[];
  enqueue(...replies: JudgeReply[]): void;
  setDefault(reply: JudgeReply): void;
  /** Chooses the reply per request (e.g. by rubric); undefined falls back to the queue/default. */
  setHandler(h: ((r: JudgeRecorded) => JudgeReply | undefined) | undefined): void;
  /** Ends hanging requests (the main fake's close() also does). */
  release(): void;
}

/** A judge request: structured output whose schema asks for the verdict's fields. */
function isJudgeRequest(body: unknown): boolean {
  if (!isRecord(body) || !isRecord(body.generationConfig)) return false;
  const schema = body.generationConfig.responseJsonSchema ?? body.generationConfig.responseSchema;
  return (
    isRecord(schema) &&
    isRecord(schema.properties) &&
    'score' in schema.properties &&
    'issues' in schema.properties
  );
}

function partsOf(body: unknown): Array<Record<string, unknown>> {
  if (!isRecord(body) || !Array.isArray(body.contents)) return [];
  return body.contents.flatMap((c) =>
    isRecord(c) && Array.isArray(c.parts) ? c.parts.filter(isRecord) : [],
  );
}

function answerBody(reply: JudgeReply, model: string, images: number): unknown {
  let answer: unknown;
  if (reply.kind === 'pass') answer = { pass: true, score: reply.score ?? 0.92, issues: [] };
  else if (reply.kind === 'fail') answer = { pass: false, score: reply.score ?? 0.35, issues: reply.issues };
  else answer = { score: 1.7, issues: [{ check: 'age' }] };
  const text = JSON.stringify(answer);
  const imageTokens = 1088 * images;
  const outTokens = Math.ceil(text.length / 4);
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: 420 + imageTokens,
      candidatesTokenCount: outTokens,
      totalTokenCount: 420 + imageTokens + outTokens,
      promptTokensDetails: [
        { modality: 'TEXT', tokenCount: 420 },
        { modality: 'IMAGE', tokenCount: imageTokens },
      ],
      candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: outTokens }],
    },
    modelVersion: model,
    responseId: randomUUID(),
  };
}

function errorBody(status: number, model: string, retryDelaySec?: number): unknown {
  const names: Record<number, string> = { 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
  const details =
    status === 429 && retryDelaySec !== undefined
      ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryDelaySec}s` }]
      : [];
  const message =
    status === 429
      ? `You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generate_requests_per_model, model: ${model}`
      : status === 503
        ? 'The model is overloaded. Please try again later.'
        : 'An internal error has occurred.';
  return {
    error: {
      code: status,
      message,
      status: names[status] ?? 'UNKNOWN',
      ...(details.length ? { details } : {}),
    },
  };
}

export function createFakeJudge(): FakeJudge {
  const requests: JudgeRecorded[] = [];
  const queue: JudgeReply[] = [];
  const hanging = new Set<ServerResponse>();
  let fallback: JudgeReply = { kind: 'pass' };
  let handler: ((r: JudgeRecorded) => JudgeReply | undefined) | undefined;
  const route: FakeRoute = {
    method: 'POST',
    path: /^\/[^/]+\/models\/([^/:]+):generateContent$/,
    accepts: isJudgeRequest,
    handle({ res, match, body }) {
      const model = match[1] ?? '';
      const parts = partsOf(body);
      const config = isRecord(body) && isRecord(body.generationConfig) ? body.generationConfig : {};
      const entry: JudgeRecorded = {
        model,
        rubric: parts.map((p) => (typeof p.text === 'string' ? p.text : '')).join('\n'),
        images: parts.flatMap((p) =>
          isRecord(p.inlineData)
            ? [
                {
                  mimeType: String(p.inlineData.mimeType),
                  bytes: Buffer.from(String(p.inlineData.data ?? ''), 'base64').byteLength,
                },
              ]
            : [],
        ),
        responseMimeType: config.responseMimeType,
        responseJsonSchema: config.responseJsonSchema,
        reply: 'pass',
      };
      const reply = handler?.(entry) ?? queue.shift() ?? fallback;
      entry.reply = reply.kind;
      requests.push(entry);
      if (reply.kind === 'timeout') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (reply.kind === 'status') {
        sendJson(res, reply.status, errorBody(reply.status, model, reply.retryDelaySec));
        return;
      }
      sendJson(res, 200, answerBody(reply, model, entry.images.length));
    },
  };
  return {
    route,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    setDefault: (reply) => {
      fallback = reply;
    },
    setHandler: (h) => {
      handler = h;
    },
    release: () => {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
  };
}
