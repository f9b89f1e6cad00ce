import type { ImageType, PlanSource } from '../batch/plan.ts';
import type { PlannedImage } from '../batch/types.ts';
import { InputError } from '../errors.ts';
import { missingImages } from '../scan/missing.ts';

/** What a face was asked for; the terminal's flags and the action's inputs share these names. */
export interface SourceChoice {
  caseId?: string | undefined;
  type?: string | undefined;
  batchFile?: string | undefined;
  resume?: string | undefined;
  scanAll?: boolean | undefined;
  fix?: boolean | undefined;
  /** The scan's findings when the face has just scanned (regenerate-missing-images --fix): not scanned again. */
  found?: PlannedImage[] | undefined;
}

const TYPES: readonly ImageType[] = ['all', 'suspects', 'scene'];

/**
 * The one rule for where a batch's images come from: exactly one of a case, a batch file, a
 * resume or the scan. `fix` with a case id takes that case's scan findings. Scan findings are
 * files that exist but must be redone (stale, corrupt, placeholder), so they are planned with
 * `force`. `fix` goes only with a case id or the scan. `flag` spells an option the way the face shows it (`--case-id` or `case-id`).
 */
export async function chooseSource(
  root: string,
  choice: SourceChoice,
  flag: (name: string) => string = (name) => `--${name}`,
): Promise<{ source: PlanSource | undefined; force: boolean }> {
  const given = [choice.caseId, choice.batchFile, choice.resume, choice.scanAll].filter(Boolean).length;
  if (given !== 1) {
    const names = ['case-id', 'batch-file', 'resume', 'scan-all'].map(flag);
    throw new InputError(`give exactly one of ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`, {
      field: 'arguments',
    });
  }
  if (choice.fix && (choice.batchFile || choice.resume)) {
    const other = flag(choice.batchFile ? 'batch-file' : 'resume');
    throw new InputError(`${flag('fix')} goes with ${flag('case-id')} or ${flag('scan-all')}, not ${other}`, {
      field: flag('fix'),
    });
  }
  if (choice.resume) return { source: undefined, force: false };
  if (choice.batchFile) return { source: { kind: 'batch-file', path: choice.batchFile }, force: false };
  if (choice.fix && choice.found) return { source: { kind: 'images', images: choice.found }, force: true };
  if (choice.scanAll) return { source: { kind: 'images', images: await missingImages(root) }, force: true };
  const caseId = choice.caseId ?? '';
  if (choice.fix)
    return { source: { kind: 'images', images: await missingImages(root, [caseId]) }, force: true };
  const type = (choice.type ?? 'all') as ImageType;
  if (!TYPES.includes(type)) {
    throw new InputError(`${JSON.stringify(choice.type)} is not a type; use all, suspects or scene`, {
      field: flag('type'),
    });
  }
  return { source: { kind: 'case', caseId, type }, force: false };
}
