import type { ErrorType, FailureReason, GenerationFailure } from './types.ts';

/** Long enough for Google's error sentences, short enough for one log line. */
const MAX_MESSAGE_CHARS = 300;

export interface ClassifyContext {
  /** Scrubbed from every message: an echoed URL or request must not leak it into a report. */
  apiKey?: string | undefined;
  /** The caller's own signal fired: the runner cancelled, the server did nothing wrong. */
  callerAborted?: boolean;
  /** Our per-request timeout fired. */
  timedOut?: boolean;
  timeoutMs?: number;
}

/** Replaces the key with ***, collapses whitespace, caps the length. */
export function cleanMessage(text: string, apiKey?: string): string {
  let out = text;
  // A very short "key" would blank out ordinary words; real keys are ~39 chars.
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('***');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…` : out;
}

/** Google's JSON error body, as far as we read it. */
interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details: Array<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The SDK puts the error body's JSON text into ApiError.message; anything else yields null. */
function parseGoogleError(text: string): GoogleErrorBody | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  // Some proxies answer with a bare array around the error object.
  const top = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!isRecord(top) || !isRecord(top.error)) return null;
  const e = top.error;
  const body: GoogleErrorBody = {
    details: Array.isArray(e.details) ? e.details.filter(isRecord) : [],
  };
  if (typeof e.code === 'number') body.code = e.code;
  if (typeof e.message === 'string') body.message = e.message;
  if (typeof e.status === 'string') body.status = e.status;
  return body;
}

/** google.protobuf.Duration in JSON form ("37s", "1.5s") or, from some clients, {seconds, nanos}. */
export function parseRetryDelay(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
    if (!m?.[1]) return undefined;
    return Math.round(Number(m[1]) * 1000);
  }
  if (isRecord(value)) {
    const seconds = Number(value.seconds ?? 0);
    const nanos = Number(value.nanos ?? 0);
    if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) return undefined;
    return Math.round(seconds * 1000 + nanos / 1e6);
  }
  return undefined;
}

function detailType(d: Record<string, unknown>): string {
  return typeof d['@type'] === 'string' ? d['@type'] : '';
}

/**
 * Some 429s carry no RetryInfo, only a google.rpc.Help link, and name the delay in the message:
 * "… Please retry in 45.218844857s." (continuedev/continue#8947), "retry in 20.04s".
 */
const RETRY_IN_TEXT = /\bretry in\s+(\d+(?:\.\d+)?)\s*(ms|s)\b/i;

function retryDelayInText(text: string): number | undefined {
  const m = RETRY_IN_TEXT.exec(text);
  if (!m?.[1]) return undefined;
  const value = Number(m[1]);
  return Math.round(m[2]?.toLowerCase() === 'ms' ? value : value * 1000);
}

/** RetryInfo.retryDelay, else the delay the message names, else undefined. */
function retryAfterMsOf(body: GoogleErrorBody): number | undefined {
  for (const d of body.details) {
    if (detailType(d).endsWith('google.rpc.RetryInfo')) {
      const ms = parseRetryDelay(d.retryDelay);
      if (ms !== undefined) return ms;
    }
  }
  return body.message ? retryDelayInText(body.message) : undefined;
}

function violations(body: GoogleErrorBody): Array<Record<string, unknown>> {
  return body.details
    .filter((d) => detailType(d).endsWith('google.rpc.QuotaFailure') && Array.isArray(d.violations))
    .flatMap((d) => (d.violations as unknown[]).filter(isRecord));
}

function quotaName(v: Record<string, unknown>): string | undefined {
  const name = v.quotaId ?? v.quotaMetric;
  return typeof name === 'string' ? name : undefined;
}

// "Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: …"
const ZERO_LIMIT = /Quota exceeded for metric:\s*([^\s,]+),\s*limit:\s*0(?![\d.])/i;

/**
 * A 429 that says the project has no quota at all for this model: a QuotaFailure violation with
 * quotaValue "0", or "limit: 0" in the message (the free tier on image models,
 * googleapis/js-genai#1322). Returns the quota's name, or undefined when the quota is not zero.
 */
function zeroQuotaOf(body: GoogleErrorBody): string | undefined {
  for (const v of violations(body)) {
    if (v.quotaValue === '0' || v.quotaValue === 0) return quotaName(v) ?? 'unnamed quota';
  }
  const m = body.message ? ZERO_LIMIT.exec(body.message) : null;
  return m ? (m[1] ?? 'unnamed quota') : undefined;
}

/** Whether a violation's quotaId or quotaMetric matches `pattern`. */
function namesQuota(body: GoogleErrorBody, pattern: RegExp): boolean {
  return violations(body).some((v) =>
    [v.quotaId, v.quotaMetric].some((s) => typeof s === 'string' && pattern.test(s)),
  );
}

/** quotaId "GenerateRequestsPerDayPerProjectPerModel" or quotaMetric "…_per_day": retrying today is pointless. */
function isDailyQuota(body: GoogleErrorBody): boolean {
  return namesQuota(body, /per_?day/i);
}

/**
 * A retired or unknown model: generateContent answers 404 NOT_FOUND "models/X is not found for API
 * version v1beta, or is not supported for generateContent. Call ListModels …"
 * (google/adk-python#200, continuedev/continue#9939). A 404 for anything else (a batch job that
 * is gone) is not this.
 */
const MODEL_NOT_FOUND = /models\/\S+ is not found|is not supported for \w*generateContent/i;
/** quotaId "GenerateRequestsPerMinutePerProjectPerModel(-FreeTier)" or a "…per_minute…" metric: our rate is too high. */
function isPerMinuteQuota(body: GoogleErrorBody): boolean {
  return namesQuota(body, /per_?minute/i);
}

// Gemini's own wording for an oversized prompt is "The input token count (N) exceeds the maximum …".
const PROMPT_TOO_LONG =
  /token count.*exceeds|exceeds the maximum number of tokens|prompt is too long|input too long/i;

function failure(
  errorType: ErrorType,
  reason: FailureReason,
  message: string,
  ctx: ClassifyContext,
  extra: Partial<GenerationFailure> = {},
): GenerationFailure {
  return { ok: false, errorType, reason, message: cleanMessage(message, ctx.apiKey), ...extra };
}

/** A 400 that is really about the key (ErrorInfo reasons or the message Google sends). */
const BAD_KEY = /API_KEY_INVALID|API_KEY_EXPIRED|API_KEY_SERVICE_BLOCKED|API key (?:not valid|expired)/i;

/** An HTTP error answer (the SDK's ApiError: status plus the body's JSON text). */
export function classifyHttpError(
  status: number,
  bodyText: string,
  ctx: ClassifyContext = {},
): GenerationFailure {
  const body = parseGoogleError(bodyText);
  const what = body
    ? [body.status, body.message].filter(Boolean).join(': ') || bodyText
    : bodyText || 'no body';
  const message = `HTTP ${status} ${what}`;
  if (status === 429) {
    const extra: Partial<GenerationFailure> = { status };
    const retryAfterMs = body ? retryAfterMsOf(body) : retryDelayInText(bodyText);
    if (retryAfterMs !== undefined) extra.retryAfterMs = retryAfterMs;
    const zero = body ? zeroQuotaOf(body) : undefined;
    if (zero !== undefined) {
      return failure('rate_limit', 'no_quota', message, ctx, { ...extra, noQuota: true, quota: zero });
    }
    if (body && isDailyQuota(body)) extra.dailyQuota = true;
    const named = body ? violations(body).map(quotaName).find(Boolean) : undefined;
    if (named) extra.quota = named;
    if (body && isPerMinuteQuota(body)) extra.perMinuteQuota = true;
    return failure('rate_limit', 'http', message, ctx, extra);
  }
  if (status === 404 && MODEL_NOT_FOUND.test(`${body?.message ?? bodyText}`)) {
    return failure('model_not_found', 'model_not_found', message, ctx, { status });
  }
  // Gemini refuses a bad key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID): nothing else can succeed either.
  if (status === 400 && BAD_KEY.test(`${bodyText} ${body?.message ?? ''}`)) {
    return failure('auth', 'http', message, ctx, { status });
  }
  if (status === 400) {
    const reason = PROMPT_TOO_LONG.test(body?.message ?? bodyText) ? 'prompt_too_long' : 'http';
    return failure('validation', reason, message, ctx, { status });
  }
  if (status === 401 || status === 403) return failure('auth', 'http', message, ctx, { status });
  if (status === 402) return failure('billing', 'http', message, ctx, { status });
  if (status === 500 || status === 502 || status === 503 || status === 504) {
    return failure('api_error', 'http', message, ctx, { status });
  }
  return failure('unknown', 'http', message, ctx, { status });
}

/** Error codes anywhere on the cause chain (undici nests them, happy-eyeballs wraps them in an AggregateError). */
function errorCodes(error: unknown, depth = 0, seen = new Set<unknown>()): string[] {
  if (depth > 5 || !isRecord(error) || seen.has(error)) return [];
  seen.add(error);
  const codes: string[] = [];
  if (typeof error.code === 'string') codes.push(error.code);
  codes.push(...errorCodes(error.cause, depth + 1, seen));
  if (Array.isArray(error.errors))
    for (const e of error.errors) codes.push(...errorCodes(e, depth + 1, seen));
  return codes;
}

function nameOf(error: unknown): string {
  return isRecord(error) && typeof error.name === 'string' ? error.name : '';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  return String(error);
}

const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);

/**
 * Maps whatever a request threw to a failure; pure, so every branch is unit-testable.
 * HTTP errors are recognised by shape (`status` + JSON message) rather than `instanceof ApiError`
 * so a second copy of the SDK in a bundle still classifies.
 */
export function classifyError(error: unknown, ctx: ClassifyContext = {}): GenerationFailure {
  const name = nameOf(error);
  const text = messageOf(error);

  if (
    name === 'ApiError' ||
    (isRecord(error) && typeof error.status === 'number' && error.status >= 400 && error.status < 600)
  ) {
    const status = isRecord(error) && typeof error.status === 'number' ? error.status : 0;
    return classifyHttpError(status, text, ctx);
  }

  const codes = errorCodes(error);
  const isAbort = name === 'AbortError' || name === 'TimeoutError' || codes.includes('ABORT_ERR');
  if (isAbort || ctx.timedOut || ctx.callerAborted) {
    if (ctx.callerAborted && !ctx.timedOut) {
      return failure('network', 'timeout', `request aborted by the caller: ${text}`, ctx);
    }
    const after = ctx.timeoutMs !== undefined ? ` after ${ctx.timeoutMs} ms` : '';
    return failure('network', 'timeout', `request timed out${after}`, ctx);
  }

  if (codes.some((c) => RESET_CODES.has(c))) {
    return failure('network', 'connection_reset', `connection reset: ${text} (${codes.join(', ')})`, ctx);
  }
  if (codes.includes('ECONNREFUSED')) {
    return failure('network', 'connection_refused', `connection refused: ${text} (${codes.join(', ')})`, ctx);
  }
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return failure('network', 'timeout', `network timeout: ${text} (${codes.join(', ')})`, ctx);
  }
  if (codes.some((c) => DNS_CODES.has(c))) {
    return failure('network', 'network', `network unreachable: ${text} (${codes.join(', ')})`, ctx);
  }
  if (name === 'SyntaxError') return failure('api_error', 'malformed_reply', `malformed reply: ${text}`, ctx);
  // undici's bare "fetch failed" with a code we do not know is still a transport problem.
  if (name === 'TypeError' && /fetch failed|terminated/i.test(text)) {
    const suffix = codes.length ? ` (${codes.join(', ')})` : '';
    return failure('network', 'network', `${text}${suffix}`, ctx);
  }
  return failure('unknown', 'unknown', name ? `${name}: ${text}` : text, ctx);
}
