import { GoogleGenAI } from '@google/genai';
import { classifyError, cleanMessage } from '../providers/classify-error.ts';
import type { GenerationFailure } from '../providers/types.ts';
import { type TokenUsage, usageFromMetadata } from '../providers/usage-cost.ts';
import { JUDGE_RESPONSE_SCHEMA, type JudgeAnswer, parseJudgeAnswer } from './verdict.ts';

export interface JudgeImage {
  mimeType: string;
  bytes: Uint8Array;
}

interface JudgeRequest {
  rubric: string;
  images: JudgeImage[];
  signal?: AbortSignal;
}

/** One judge call: an answer in schema, or why not (an API failure, or an answer out of schema). */
type JudgeCallResult =
  | { ok: true; answer: JudgeAnswer; usage?: TokenUsage }
  | { ok: false; failure: GenerationFailure; usage?: TokenUsage };

export interface JudgeClient {
  readonly model: string;
  call(request: JudgeRequest): Promise<JudgeCallResult>;
}

export interface JudgeClientOptions {
  apiKey: string;
  model: string;
  apiVersion: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
}

/**
 * The judge through the real SDK: the rubric and the image(s) as inline parts, structured output
 * (`responseMimeType: application/json` + `responseJsonSchema`), so the JSON arrives as the text of
 * the first candidate's parts. Temperature 0: the same image should get the same verdict.
 */
export function createJudgeClient(o: JudgeClientOptions): JudgeClient {
  const client = new GoogleGenAI({
    apiKey: o.apiKey,
    apiVersion: o.apiVersion,
    // No SDK retries: the judge goes through the runner's retry table like image calls.
    httpOptions: o.baseUrl ? { baseUrl: o.baseUrl } : {},
  });
  return {
    model: o.model,
    async call(request) {
      const timeout = AbortSignal.timeout(o.timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      try {
        const response = await client.models.generateContent({
          model: o.model,
          contents: [
            {
              role: 'user',
              parts: [
                { text: request.rubric },
                ...request.images.map((img) => ({
                  inlineData: { mimeType: img.mimeType, data: Buffer.from(img.bytes).toString('base64') },
                })),
              ],
            },
          ],
          config: {
            responseMimeType: 'application/json',
            responseJsonSchema: JUDGE_RESPONSE_SCHEMA,
            temperature: 0,
            abortSignal: signal,
          },
        });
        const usage = usageFromMetadata(response.usageMetadata);
        const withUsage = usage ? { usage } : {};
        const text = (response.candidates?.[0]?.content?.parts ?? [])
          .filter((p) => !p.thought && typeof p.text === 'string')
          .map((p) => p.text)
          .join('');
        if (!text.trim()) {
          const why =
            response.promptFeedback?.blockReason ?? response.candidates?.[0]?.finishReason ?? 'no candidates';
          return { ok: false, failure: malformed(`the judge answered with no text (${why})`), ...withUsage };
        }
        const parsed = parseJudgeAnswer(text);
        if ('problem' in parsed) return { ok: false, failure: malformed(parsed.problem), ...withUsage };
        return { ok: true, answer: parsed.answer, ...withUsage };
      } catch (error) {
        return {
          ok: false,
          failure: classifyError(error, {
            apiKey: o.apiKey,
            timedOut: timeout.aborted,
            callerAborted: request.signal?.aborted ?? false,
            timeoutMs: o.timeoutMs,
          }),
        };
      }
    },
  };

  function malformed(message: string): GenerationFailure {
    return {
      ok: false,
      errorType: 'validation',
      reason: 'malformed_reply',
      message: cleanMessage(message, o.apiKey),
    };
  }
}
