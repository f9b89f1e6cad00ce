import { z } from 'zod';
import type { ImageType } from '../../batch/plan.ts';
import { InputError } from '../../errors.ts';
import { apiKeyInput, input, parseInputs } from '../inputs.ts';
import { parseCaseIds } from './group.ts';

const TYPES: readonly ImageType[] = ['all', 'suspects', 'scene'];

/** batch-generate's inputs as action.yml names them. */
const schema = z.object({
  'case-id': input.text(),
  /** A group of cases run one after another, each on its own branch and pull request. */
  'case-ids': input.custom(parseCaseIds),
  type: input.oneOf('type', TYPES),
  'batch-file': input.text(),
  resume: input.text(),
  force: input.boolean('force', false),
  'scan-all': input.boolean('scan-all', false),
  fix: input.boolean('fix', false),
  model: input.text(),
  provider: input.oneOf('provider', ['gemini', 'placeholder'] as const),
  'max-cost': input.number('max-cost'),
  'estimate-only': input.boolean('estimate-only', false),
  'github-token': input.text(),
  commit: input.boolean('commit', false),
  'open-pr': input.boolean('open-pr', false),
  'artifact-name': input.text(),
  mode: input.oneOf('mode', ['sync', 'batch'] as const),
  'checkpoint-images': input.number('checkpoint-images'),
  'checkpoint-minutes': input.number('checkpoint-minutes'),
  'deadline-minutes': input.number('deadline-minutes'),
});

export interface Inputs {
  caseId: string | undefined;
  /** `case-ids`: a group of cases run one after another, each on its own branch and pull request. */
  caseIds: string[];
  type: ImageType;
  batchFile: string | undefined;
  resume: string | undefined;
  force: boolean;
  scanAll: boolean;
  fix: boolean;
  model: string | undefined;
  provider: 'gemini' | 'placeholder' | undefined;
  maxCost: number | undefined;
  estimateOnly: boolean;
  apiKey: string | undefined;
  githubToken: string | undefined;
  commit: boolean;
  openPr: boolean;
  artifactName: string | undefined;
  mode: 'sync' | 'batch';
  checkpointImages: number;
  checkpointMinutes: number;
  deadlineMinutes: number | undefined;
}

/** Reads and checks every input once; a problem is an InputError naming the input (exit 1, one line). */
export function readInputs(): Inputs {
  const i = parseInputs(schema);
  const inputs: Inputs = {
    caseId: i['case-id'],
    caseIds: i['case-ids'],
    type: i.type ?? 'all',
    batchFile: i['batch-file'],
    resume: i.resume,
    force: i.force,
    scanAll: i['scan-all'],
    fix: i.fix,
    model: i.model,
    provider: i.provider,
    maxCost: i['max-cost'],
    estimateOnly: i['estimate-only'],
    apiKey: apiKeyInput(),
    githubToken: i['github-token'],
    commit: i.commit,
    openPr: i['open-pr'],
    artifactName: i['artifact-name'],
    mode: i.mode ?? 'sync',
    checkpointImages: Math.floor(i['checkpoint-images'] ?? 10),
    checkpointMinutes: i['checkpoint-minutes'] ?? 5,
    // Empty or 0 means no deadline.
    deadlineMinutes: i['deadline-minutes'] ? i['deadline-minutes'] : undefined,
  };
  checkInputs(inputs);
  return inputs;
}

/** Checks that hold for the whole run, before anything is planned. */
function checkInputs(i: Inputs): void {
  if (i.openPr && !i.commit) {
    throw new InputError('open-pr needs commit: true (the pull request shows the committed images)', {
      field: 'open-pr',
    });
  }
  if ((i.commit || i.openPr) && !i.githubToken) {
    throw new InputError('commit and open-pr need github-token', { field: 'github-token' });
  }
  if (i.caseIds.length && (i.caseId || i.batchFile || i.resume || i.scanAll)) {
    throw new InputError('give case-ids alone, not with case-id, batch-file, resume or scan-all', {
      field: 'case-ids',
    });
  }
}
