import { randomUUID } from 'node:crypto';
import { type FakeReply, generateContentBody, googleError, startFakeGemini } from './fake-gemini.ts';
import { type FakeRoute, isRecord, sendJson } from './fake-route.ts';

/**
 * The Batch API part of the fake Gemini server, in the shape @google/genai 3.x sends and parses on
 * the Gemini Developer API (mldev) path:
 * - `POST /{v}/models/{model}:batchGenerateContent` with `{batch: {displayName, inputConfig:
 *   {requests: {requests: [{request: {contents, generationConfig}, metadata: {key}}]}}}}`;
 * - `GET /{v}/batches/{id}` and `GET /{v}/batches?pageSize&pageToken` (`{operations, nextPageToken}`);
 * - a job is an Operation whose `metadata` holds displayName, state (`BATCH_STATE_*`), createTime
 *   and, once finished, `output.inlinedResponses.inlinedResponses[]`.
 * Jobs stay pending until a test moves them (`advance`, `advanceAll`) or a script does (`onGet`).
 */

type FakeJobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** What one request of a job gets: a generateContent reply or a per-request google.rpc.Status. */
type FakeBatchOutcome =
  | FakeReply
  | { kind: 'error'; code: number; message?: string }
  /** No entry at all for this request in the job's results. */
  | { kind: 'missing' };

interface FakeBatchRequest {
  key: string | undefined;
  prompt: string;
  aspectRatio: string | undefined;
}

interface FakeBatchJob {
  name: string;
  displayName: string;
  model: string;
  state: FakeJobState;
  createTime: string;
  updateTime: string;
  requests: FakeBatchRequest[];
  /** Filled when the job succeeds (or ends with partial results). */
  responses?: unknown[];
}

export interface FakeGeminiBatch {
  /** Pass to startFakeGemini({ extraRoutes }). */
  routes: FakeRoute[];
  jobs: FakeBatchJob[];
  /** Every batch call in order, e.g. `create batches/abc`, `get batches/abc`, `list`. */
  calls: string[];
  /** Answer for one request when its job succeeds; undefined → an image. */
  setOutcome(
    fn: ((request: FakeBatchRequest, job: FakeBatchJob) => FakeBatchOutcome | undefined) | undefined,
  ): void;
  /** Moves a job (by name or display name) to a state; succeeding computes its results. */
  advance(job: string, state: FakeJobState): Promise<void>;
  advanceAll(state: FakeJobState): Promise<void>;
  /** Called on every `get` before answering, so a test can script a job's life. */
  onGet(fn: ((job: FakeBatchJob, gets: number) => FakeJobState | undefined) | undefined): void;
  /** The next create answers with this HTTP error instead (once). */
  failNextCreate(status: number, message?: string): void;
  count(kind: 'create' | 'get' | 'list'): number;
}

const STATE_NAME: Record<FakeJobState, string> = {
  pending: 'BATCH_STATE_PENDING',
  running: 'BATCH_STATE_RUNNING',
  succeeded: 'BATCH_STATE_SUCCEEDED',
  failed: 'BATCH_STATE_FAILED',
  cancelled: 'BATCH_STATE_CANCELLED',
  expired: 'BATCH_STATE_EXPIRED',
};

function parseRequests(body: unknown): FakeBatchRequest[] | string {
  if (!isRecord(body) || !isRecord(body.batch)) return 'batch is required';
  const input = body.batch.inputConfig;
  if (!isRecord(input) || !isRecord(input.requests) || !Array.isArray(input.requests.requests)) {
    return 'batch.inputConfig.requests.requests is required';
  }
  const out: FakeBatchRequest[] = [];
  for (const entry of input.requests.requests) {
    if (!isRecord(entry) || !isRecord(entry.request)) return 'each request needs a request';
    const request = entry.request;
    const texts: string[] = [];
    for (const content of Array.isArray(request.contents) ? request.contents : []) {
      if (!isRecord(content) || !Array.isArray(content.parts)) continue;
      for (const part of content.parts)
        if (isRecord(part) && typeof part.text === 'string') texts.push(part.text);
    }
    const gc = request.generationConfig;
    const aspect = isRecord(gc) && isRecord(gc.imageConfig) ? gc.imageConfig.aspectRatio : undefined;
    const metadata = entry.metadata;
    out.push({
      key: isRecord(metadata) && typeof metadata.key === 'string' ? metadata.key : undefined,
      prompt: texts.join('\n'),
      aspectRatio: typeof aspect === 'string' ? aspect : undefined,
    });
  }
  return out;
}

function createFakeGeminiBatch(): FakeGeminiBatch {
  const jobs: FakeBatchJob[] = [];
  const calls: string[] = [];
  const gets = new Map<string, number>();
  let outcome: ((request: FakeBatchRequest, job: FakeBatchJob) => FakeBatchOutcome | undefined) | undefined;
  let script: ((job: FakeBatchJob, gets: number) => FakeJobState | undefined) | undefined;
  let createFailure: { status: number; message: string } | undefined;

  const find = (nameOrDisplay: string) =>
    jobs.find((j) => j.name === nameOrDisplay || j.displayName === nameOrDisplay);

  async function results(job: FakeBatchJob): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const request of job.requests) {
      const chosen = outcome?.(request, job) ?? { kind: 'image' };
      const metadata = request.key !== undefined ? { key: request.key } : undefined;
      if (chosen.kind === 'missing') continue;
      if (chosen.kind === 'error') {
        out.push({ metadata, error: { code: chosen.code, message: chosen.message ?? 'Request failed.' } });
        continue;
      }
      const response = await generateContentBody(chosen, {
        prompt: request.prompt,
        aspectRatio: request.aspectRatio,
        model: job.model,
      });
      out.push({ metadata, response });
    }
    return out;
  }

  async function move(job: FakeBatchJob, state: FakeJobState): Promise<void> {
    job.state = state;
    job.updateTime = new Date().toISOString();
    if (state === 'succeeded' && !job.responses) job.responses = await results(job);
  }

  function operation(job: FakeBatchJob, withOutput: boolean): Record<string, unknown> {
    const done = isDone(job.state);
    const metadata: Record<string, unknown> = {
      '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
      model: `models/${job.model}`,
      displayName: job.displayName,
      createTime: job.createTime,
      updateTime: job.updateTime,
      batchStats: { requestCount: String(job.requests.length) },
      state: STATE_NAME[job.state],
      name: job.name,
    };
    if (withOutput && job.responses) {
      metadata.output = { inlinedResponses: { inlinedResponses: job.responses } };
    }
    return { name: job.name, metadata, ...(done ? { done: true } : {}) };
  }

  const routes: FakeRoute[] = [
    {
      method: 'POST',
      path: /^\/[^/]+\/models\/([^/:]+):batchGenerateContent$/,
      handle: ({ res, match, body }) => {
        calls.push('create');
        if (createFailure) {
          const { status, message } = createFailure;
          createFailure = undefined;
          sendJson(res, status, googleError(status, message));
          return;
        }
        const requests = parseRequests(body);
        if (typeof requests === 'string') {
          sendJson(res, 400, googleError(400, requests));
          return;
        }
        const batch = isRecord(body) && isRecord(body.batch) ? body.batch : {};
        const now = new Date().toISOString();
        const job: FakeBatchJob = {
          name: `batches/${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          displayName: typeof batch.displayName === 'string' ? batch.displayName : '',
          model: match[1] ?? '',
          state: 'pending',
          createTime: now,
          updateTime: now,
          requests,
        };
        jobs.push(job);
        calls[calls.length - 1] = `create ${job.name}`;
        sendJson(res, 200, operation(job, false));
      },
    },
    {
      method: 'GET',
      path: /^\/[^/]+\/batches\/([^/:]+)$/,
      handle: async ({ res, match }) => {
        const name = `batches/${match[1] ?? ''}`;
        calls.push(`get ${name}`);
        const job = find(name);
        if (!job) {
          sendJson(res, 404, googleError(404, `Batch ${name} not found.`));
          return;
        }
        const n = (gets.get(name) ?? 0) + 1;
        gets.set(name, n);
        const next = script?.(job, n);
        if (next) await move(job, next);
        sendJson(res, 200, operation(job, true));
      },
    },
    {
      method: 'GET',
      path: /^\/[^/]+\/batches$/,
      handle: ({ req, res }) => {
        calls.push('list');
        const query = new URL(req.url ?? '/', 'http://fake').searchParams;
        const size = Math.max(1, Number(query.get('pageSize') ?? 50) || 50);
        const start = Number(query.get('pageToken') ?? 0) || 0;
        // Newest first, as the real API lists them.
        const ordered = [...jobs].reverse();
        const page = ordered.slice(start, start + size);
        const next = start + size < ordered.length ? String(start + size) : undefined;
        sendJson(res, 200, {
          operations: page.map((j) => operation(j, false)),
          ...(next ? { nextPageToken: next } : {}),
        });
      },
    },
  ];

  return {
    routes,
    jobs,
    calls,
    setOutcome: (fn) => {
      outcome = fn;
    },
    advance: async (nameOrDisplay, state) => {
      const job = find(nameOrDisplay);
      if (!job) throw new Error(`no fake batch job ${nameOrDisplay}`);
      await move(job, state);
    },
    advanceAll: async (state) => {
      for (const job of jobs) await move(job, state);
    },
    onGet: (fn) => {
      script = fn;
    },
    failNextCreate: (status, message) => {
      createFailure = { status, message: message ?? 'An internal error has occurred.' };
    },
    count: (kind) => calls.filter((c) => c === kind || c.startsWith(`${kind} `)).length,
  };
}

function isDone(state: FakeJobState): boolean {
  return state !== 'pending' && state !== 'running';
}

/** A fake Gemini server that also speaks the Batch API. */
export async function startFakeGeminiWithBatch(
  options: Parameters<typeof startFakeGemini>[0] = {},
): Promise<{ fake: Awaited<ReturnType<typeof startFakeGemini>>; batch: FakeGeminiBatch }> {
  const batch = createFakeGeminiBatch();
  const fake = await startFakeGemini({
    ...options,
    extraRoutes: [...(options.extraRoutes ?? []), ...batch.routes],
  });
  return { fake, batch };
}
