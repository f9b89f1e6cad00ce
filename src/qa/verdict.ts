import { z } from 'zod';

/** What the judge must answer; validated after parsing, whatever the model was told. */
const judgeAnswerSchema = z.object({
  pass: z.boolean(),
  score: z.number().min(0).max(1),
  issues: z.array(z.object({ check: z.string().min(1).max(60), detail: z.string().max(500) })).max(20),
});

export type JudgeAnswer = z.infer<typeof judgeAnswerSchema>;

/**
 * The same shape as a response schema, written out by hand in the keywords Gemini's
 * `responseJsonSchema` documents (https://ai.google.dev/gemini-api/docs/structured-output):
 * `minimum`/`maximum` are among them, zod's `$schema` and `additionalProperties: false` are not needed.
 */
export const JUDGE_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    pass: { type: 'boolean', description: 'true only if every check holds' },
    score: { type: 'number', minimum: 0, maximum: 1, description: 'overall quality against the checks' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          check: { type: 'string', description: 'the failed check, by its name' },
          detail: { type: 'string', description: 'what is wrong, in one sentence' },
        },
        required: ['check', 'detail'],
      },
    },
  },
  required: ['pass', 'score', 'issues'],
} as const;

/** Parses the judge's text; undefined plus a reason when it is not JSON or not in the schema. */
export function parseJudgeAnswer(text: string): { answer: JudgeAnswer } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: 'the answer is not JSON' };
  }
  const parsed = judgeAnswerSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      problem: `the answer is out of schema (${first ? `${first.path.join('.') || 'answer'}: ${first.message}` : 'invalid'})`,
    };
  }
  return { answer: parsed.data };
}
