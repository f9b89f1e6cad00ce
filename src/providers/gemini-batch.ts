import {
  type BatchJob,
  type GenerateContentResponse,
  GoogleGenAI,
  type InlinedRequest,
  type InlinedResponse,
  Modality,
} from '@google/genai';
import { classifyError, classifyHttpError } from './classify-error.ts';
import { type GeminiProviderOptions, imageConfigFor, interpretResponse, requestContents } from './gemini.ts';
import type { AspectRatio, GenerationFailure, GenerationResult, ImageRequest } from './types.ts';

/** One image asked of a batch job; `key` comes back as the response's `metadata.key`. */
export interface BatchRequest {
  key: string;
  prompt: string;
  aspectRatio: AspectRatio;
  /** The case's style sheet, as in a synchronous request. */
  references?: ImageRequest['references'];
}

/** The SDK's JobState values lineup acts on (mldev's BATCH_STATE_* are mapped to these by the SDK). */
export const JOB_STATE = {
  pending: 'JOB_STATE_PENDING',
  running: 'JOB_STATE_RUNNING',
  succeeded: 'JOB_STATE_SUCCEEDED',
  failed: 'JOB_STATE_FAILED',
  cancelled: 'JOB_STATE_CANCELLED',
  expired: 'JOB_STATE_EXPIRED',
} as const;

/** States after which a job never changes again. */
export const FINAL_JOB_STATES: ReadonlySet<string> = new Set([
  JOB_STATE.succeeded,
  JOB_STATE.failed,
  JOB_STATE.cancelled,
  JOB_STATE.expired,
]);

interface BatchResult {
  /** The request's `metadata.key`; undefined when the server dropped it. */
  key: string | undefined;
  result: GenerationResult;
}

export interface BatchJobInfo {
  name: string;
  displayName: string | undefined;
  state: string;
  createTime: string | undefined;
  /** The inlined responses, when the job carries any (a finished job). */
  results: BatchResult[] | undefined;
}

/** A batch-API call that failed; `failure` is classified like a synchronous request's. */
export class BatchApiError extends Error {
  override name = 'BatchApiError';
  constructor(readonly failure: GenerationFailure) {
    super(failure.message);
  }
}

/** The few Batch API calls lineup makes; every outcome other than success throws BatchApiError. */
export interface BatchClient {
  readonly model: string;
  /** Batch price of one image in USD. */
  readonly costPerImage: number;
  create(displayName: string, requests: BatchRequest[]): Promise<BatchJobInfo>;
  get(name: string): Promise<BatchJobInfo>;
  /** The newest job with exactly this display name, or undefined. Pages through every job. */
  findByDisplayName(displayName: string): Promise<BatchJobInfo | undefined>;
}

/** The synchronous provider's options; `costPerImage` is the batch price here (half by default). */
export type GeminiBatchOptions = GeminiProviderOptions;

function inlinedRequest(
  request: BatchRequest,
  o: Pick<GeminiBatchOptions, 'model' | 'imageSize'>,
): InlinedRequest {
  return {
    contents: requestContents(request.prompt, request.references),
    metadata: { key: request.key },
    config: {
      responseModalities: [Modality.IMAGE],
      imageConfig: imageConfigFor(o.model, request.aspectRatio, o.imageSize),
    },
  };
}

/**
 * Bytes one request adds to a job's body, measured on the JSON the SDK sends (mldev shape), so
 * chunks can be kept under the API's 20 MB inline limit.
 */
export function batchRequestBytes(request: BatchRequest): number {
  const wire = {
    request: {
      contents: [
        {
          role: 'user',
          parts: [
            { text: request.prompt },
            // The style sheet travels as base64: four characters for every three bytes.
            ...(request.references ?? []).map((r) => ({
              inlineData: { mimeType: r.mimeType, data: 'x'.repeat(Math.ceil(r.bytes.byteLength / 3) * 4) },
            })),
          ],
        },
      ],
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: request.aspectRatio } },
    },
    metadata: { key: request.key },
  };
  return Buffer.byteLength(JSON.stringify(wire)) + 1;
}

/**
 * gRPC codes of a google.rpc.Status in an inlined response, as the HTTP status the same error
 * would have had on a synchronous request, so one classifier serves both.
 */
const GRPC_TO_HTTP: Record<number, number> = {
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

/** A per-request error of a batch job (google.rpc.Status) to a failure, by the error table (README, "What happens on errors"). */
export function classifyJobError(
  error: { code?: number; message?: string; details?: unknown[] },
  apiKey?: string,
): GenerationFailure {
  const code = error.code ?? 2;
  // Statuses already in HTTP form (some proxies, older API versions) are taken as they are.
  const status = code >= 100 ? code : (GRPC_TO_HTTP[code] ?? 500);
  const body = JSON.stringify({ error: { ...error, code: status } });
  return classifyHttpError(status, body, { apiKey });
}

export function createGeminiBatchClient(o: GeminiBatchOptions): BatchClient {
  const client = new GoogleGenAI({
    apiKey: o.apiKey,
    apiVersion: o.apiVersion,
    // The SDK's retries stay off here too: creating a job twice would pay twice.
    httpOptions: o.baseUrl ? { baseUrl: o.baseUrl } : {},
  });

  function results(job: BatchJob): BatchResult[] | undefined {
    const inlined: InlinedResponse[] | undefined = job.dest?.inlinedResponses;
    if (!inlined) return undefined;
    return inlined.map((r) => {
      const key = r.metadata?.key;
      let result: GenerationResult;
      if (r.error) result = classifyJobError(r.error as Record<string, never>, o.apiKey);
      else if (r.response) {
        result = interpretResponse(r.response as GenerateContentResponse, {
          model: o.model,
          costPerImage: o.costPerImage,
          apiKey: o.apiKey,
        });
      } else {
        result = {
          ok: false,
          errorType: 'api_error',
          reason: 'malformed_reply',
          message: 'batch result holds neither a response nor an error',
        };
      }
      return { key, result };
    });
  }

  function info(job: BatchJob): BatchJobInfo {
    if (!job.name) {
      throw new BatchApiError({
        ok: false,
        errorType: 'api_error',
        reason: 'malformed_reply',
        message: 'batch job without a name in the reply',
      });
    }
    return {
      name: job.name,
      displayName: job.displayName,
      state: job.state ? String(job.state) : 'JOB_STATE_UNSPECIFIED',
      createTime: job.createTime,
      results: results(job),
    };
  }

  async function call<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(o.timeoutMs);
    try {
      return await run(timeout);
    } catch (error) {
      if (error instanceof BatchApiError) throw error;
      throw new BatchApiError(
        classifyError(error, { apiKey: o.apiKey, timedOut: timeout.aborted, timeoutMs: o.timeoutMs }),
      );
    }
  }

  return {
    model: o.model,
    costPerImage: o.costPerImage,
    create: (displayName, requests) =>
      call(async (abortSignal) =>
        info(
          await client.batches.create({
            model: o.model,
            src: requests.map((r) => inlinedRequest(r, o)),
            config: { displayName, abortSignal },
          }),
        ),
      ),
    get: (name) =>
      call(async (abortSignal) => info(await client.batches.get({ name, config: { abortSignal } }))),
    findByDisplayName: (displayName) =>
      call(async (abortSignal) => {
        let found: BatchJobInfo | undefined;
        const pager = await client.batches.list({ config: { pageSize: 100, abortSignal } });
        for await (const job of pager) {
          if (job.displayName !== displayName || !job.name) continue;
          const candidate = info(job);
          // Should a second job ever exist, collect the newest: the older one was never recorded.
          if (!found || (candidate.createTime ?? '') > (found.createTime ?? '')) found = candidate;
        }
        return found;
      }),
  };
}
