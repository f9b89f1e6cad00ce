import { GoogleGenAI } from '@google/genai';
import { z } from 'zod';
import { type Case, caseSchema } from '../cases/schema.ts';
import { classifyError, cleanMessage } from '../providers/classify-error.ts';
import { fieldPath } from '../util/read-json.ts';

/**
 * A text model: case generation needs JSON, not pictures. gemini-3.8-flash is GA (released
 * 2026-09-02; Google's changelog of 2026-10-08 routes the retired gemini-3.7-flash to it, and
 * gemini-2.5-flash was shut down in 2026, see Google's deprecations page). $0.75 / $3.75 per
 * million input / output tokens (vercel.com/ai-gateway/models/gemini-3.8-flash, checked
 * 2026-12-01). A model change is this line, or --model.
 */
export const DEFAULT_CASE_MODEL = 'gemini-3.8-flash';

/**
 * The model's answer could not become a case: an API failure, a refusal, or JSON that does not
 * fit the schema. Not bad input from the user (that is exit 2); the run failed, so exit 1.
 */
export class CaseGenerationError extends Error {
  override name = 'CaseGenerationError';
}

type JsonSchema = Record<string, unknown>;

/*
 * The keywords Gemini's responseJsonSchema documents. Others (pattern, minLength, $schema…) are
 * either rejected with a 400 or silently ignored depending on model and date, so they are dropped
 * here and enforced by validating the answer with the zod schema instead.
 */
const GEMINI_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'format',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'additionalProperties',
  'description',
  'title',
  'anyOf',
]);

function strip(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strip);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!GEMINI_KEYWORDS.has(key)) continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      // Property names are data here, not keywords: keep them all.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, strip(sub)]));
    } else {
      out[key] = strip(value);
    }
  }
  return out;
}

/** What the model should aim for, where the zod schema alone would not tell it. */
const HINTS: Record<string, string> = {
  title: 'A short, evocative title for the case, without the word "case".',
  artStyle: 'One consistent illustration style for every picture of the case.',
  summary: 'Two or three sentences: what happened, where, and who had the chance.',
  'scene.description':
    'The crime scene as a painter would see it, with no people in it: the room, the light, what is out of place.',
  'scene.clues': 'Three or four visible objects that hint at the culprit.',
  suspects: 'Three or four suspects, each visually very different from the others.',
  'suspects.id': 'suspect-1, suspect-2, … in order.',
  'suspects.appearance':
    'Vivid, drawable physical detail: build, face, skin, hair, one distinguishing mark. No famous people.',
  'suspects.demeanor': 'Expression and posture in a few words.',
};

/**
 * The response schema sent to Gemini, derived from the case schema: `id` and `date` are left out
 * (they come from the command line, not from the model), the keywords Gemini does not accept are
 * stripped, and short hints are added.
 */
export function caseResponseJsonSchema(): JsonSchema {
  const full = z.toJSONSchema(caseSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const schema = strip(full) as JsonSchema;
  const properties = { ...(schema.properties as Record<string, JsonSchema>) };
  delete properties.id;
  delete properties.date;
  const describe = (node: JsonSchema | undefined, path: string) => {
    const hint = HINTS[path];
    if (node && hint) node.description = hint;
  };
  for (const [name, node] of Object.entries(properties)) describe(node, name);
  const scene = properties.scene?.properties as Record<string, JsonSchema> | undefined;
  for (const [name, node] of Object.entries(scene ?? {})) describe(node, `scene.${name}`);
  const suspects = properties.suspects;
  if (suspects) {
    suspects.minItems = 3;
    suspects.maxItems = 4;
    const item = suspects.items as JsonSchema | undefined;
    for (const [name, node] of Object.entries((item?.properties as Record<string, JsonSchema>) ?? {})) {
      describe(node, `suspects.${name}`);
    }
  }
  return {
    ...schema,
    properties,
    // Optional fields the game shows are asked for, so the model does not skip them.
    required: ['title', 'artStyle', 'summary', 'scene', 'suspects'],
  };
}

function casePrompt(caseId: string, date: string): string {
  return [
    `Invent a new, original case for a daily detective game. Case ${caseId}, dated ${date}.`,
    'A small non-violent crime (a theft, a forgery, a sabotage) in one memorable place, with three or four suspects who all had the chance.',
    'Every suspect must look clearly different (age, build, hair, clothing) so a player can tell their portraits apart at a glance.',
    'Describe the crime scene with no people in it. Keep everything suitable for all ages: no blood, weapons, injuries or real people.',
    'Answer with JSON that fits the response schema, in English.',
  ].join('\n');
}

export interface GeminiCaseOptions {
  apiKey: string;
  caseId: string;
  model?: string;
  apiVersion: string;
  /** Undefined: the SDK's own GOOGLE_GEMINI_BASE_URL, else Google. */
  baseUrl?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** The first problem of a zod error, as `field: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'is not valid';
  return `${fieldPath(issue.path)}: ${issue.message}`;
}

/** Turns the model's JSON text into a validated case; every problem is a CaseGenerationError. */
function parseCaseAnswer(text: string, caseId: string, model: string): Case {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    const snippet = cleanMessage(text).slice(0, 80);
    throw new CaseGenerationError(`${model}'s answer is not JSON: "${snippet}"`);
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw new CaseGenerationError(`${model}'s answer is not a JSON object`);
  }
  // id and date are ours; whatever the model put there is overridden, not trusted.
  const candidate = { ...answer, id: caseId, date: caseId.slice(5, 15) };
  const result = caseSchema.safeParse(candidate);
  if (!result.success) {
    throw new CaseGenerationError(`${model}'s answer is not a valid case: ${firstIssue(result.error)}`);
  }
  return result.data;
}

/** Asks Gemini for a case as structured JSON and validates it. Nothing is written here. */
export async function generateCaseWithGemini(o: GeminiCaseOptions): Promise<Case> {
  const model = o.model ?? DEFAULT_CASE_MODEL;
  const client = new GoogleGenAI({
    apiKey: o.apiKey,
    apiVersion: o.apiVersion,
    // No retryOptions: one request, and a failure is reported rather than hidden behind retries.
    httpOptions: { timeout: o.timeoutMs, ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}) },
  });
  const date = o.caseId.slice(5, 15);
  let response: Awaited<ReturnType<typeof client.models.generateContent>>;
  try {
    response = await client.models.generateContent({
      model,
      contents: [{ role: 'user', parts: [{ text: casePrompt(o.caseId, date) }] }],
      config: {
        responseMimeType: 'application/json',
        responseJsonSchema: caseResponseJsonSchema(),
        temperature: 1,
        ...(o.signal ? { abortSignal: o.signal } : {}),
      },
    });
  } catch (error) {
    const failure = classifyError(error, { apiKey: o.apiKey, timeoutMs: o.timeoutMs });
    throw new CaseGenerationError(`${model} request failed (${failure.errorType}): ${failure.message}`);
  }
  const blocked = response.promptFeedback?.blockReason;
  if (blocked) throw new CaseGenerationError(`${model} refused the request: ${blocked}`);
  const candidate = response.candidates?.[0];
  const text = (candidate?.content?.parts ?? [])
    .filter((p) => !p.thought && typeof p.text === 'string')
    .map((p) => p.text)
    .join('');
  if (!text.trim()) {
    const why = candidate?.finishReason ? `finishReason ${candidate.finishReason}` : 'no candidates';
    throw new CaseGenerationError(`${model} answered with no text (${why})`);
  }
  if (candidate?.finishReason === 'MAX_TOKENS') {
    throw new CaseGenerationError(`${model}'s answer was cut off at the output token limit`);
  }
  return parseCaseAnswer(text, o.caseId, model);
}
