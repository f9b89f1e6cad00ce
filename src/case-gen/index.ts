import { stat } from 'node:fs/promises';
import { writeCase } from '../cases/case-store.ts';
import { assertCaseId } from '../cases/ids.ts';
import { caseFile } from '../cases/paths.ts';
import type { Case } from '../cases/schema.ts';
import { InputError } from '../errors.ts';
import { buildPrompt } from '../prompts/index.ts';
import { displayPath } from '../util/read-json.ts';
import { CaseGenerationError, DEFAULT_CASE_MODEL, generateCaseWithGemini } from './gemini.ts';
import { generateOfflineCase } from './offline.ts';

export {
  CaseGenerationError,
  caseResponseJsonSchema,
} from './gemini.ts';
export { generateOfflineCase } from './offline.ts';

export interface GenerateCaseOptions {
  caseId: string;
  /** Replace an existing case.json. */
  force?: boolean;
  /** Present: ask Gemini. Absent: the offline generator. */
  gemini?: {
    apiKey: string;
    model?: string | undefined;
    apiVersion: string;
    baseUrl?: string | undefined;
    timeoutMs: number;
  };
  signal?: AbortSignal;
}

export interface GeneratedCase {
  data: Case;
  file: string;
  source: 'gemini' | 'offline';
  model?: string;
  replaced: boolean;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Every image prompt of the case must build: a model can write a description so long that the
 * prompt passes the limit, and that should fail now rather than in the first batch.
 */
function checkPrompts(data: Case, source: string): void {
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    try {
      buildPrompt(data, imageId);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      throw new CaseGenerationError(`${source}'s case cannot be drawn: ${error.message}`);
    }
  }
}

/**
 * Makes a new case and writes `cases/<id>/case.json`. An existing case is an InputError unless
 * `force`; it is checked before any request so a refusal costs nothing. A failed or invalid
 * answer throws CaseGenerationError and writes nothing.
 */
export async function generateCase(root: string, o: GenerateCaseOptions): Promise<GeneratedCase> {
  const caseId = assertCaseId(o.caseId);
  const file = caseFile(root, caseId);
  const replaced = await exists(file);
  if (replaced && !o.force) {
    throw new InputError(`already exists; pass --force to replace case ${caseId}`, {
      file: displayPath(file),
    });
  }
  let data: Case;
  let source: GeneratedCase['source'];
  let model: string | undefined;
  if (o.gemini) {
    model = o.gemini.model ?? DEFAULT_CASE_MODEL;
    data = await generateCaseWithGemini({ ...o.gemini, model, caseId, signal: o.signal });
    source = 'gemini';
  } else {
    data = generateOfflineCase(caseId);
    source = 'offline';
  }
  checkPrompts(data, model ?? 'the offline generator');
  await writeCase(root, data);
  return { data, file, source, ...(model ? { model } : {}), replaced };
}
