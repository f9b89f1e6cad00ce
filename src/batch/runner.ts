import { readManifest } from '../cases/manifest-store.ts';
import { imagesDir } from '../cases/paths.ts';
import { ExitCode } from '../errors.ts';
import { summary as verdictSummary } from '../qa/vision-review.ts';
import { removeStaleTemps } from '../util/atomic-write.ts';
import { errorMessage } from '../util/error-message.ts';
import { attemptImage } from './attempt.ts';
import type { PlanItem } from './plan.ts';
import { progressDir, strip } from './progress.ts';
import { adoptOrphan } from './save-image.ts';
import { Session } from './session.ts';
import { type ExecuteOptions, SyncRun } from './sync-run.ts';
import type { BatchSummary } from './types.ts';

/**
 * Runs the items of a claimed batch under the limiter and the retry policy, saving each image
 * and the progress file as it finishes. Safe to call again on the same progress (resume).
 * Adopt orphans → start workers → finish (docs/ARCHITECTURE.md, "The life of a run").
 */
export async function executeBatch(options: ExecuteOptions): Promise<BatchSummary> {
  const { root, provider, progress, items } = options;
  const s = new Session(options, progress, items);
  s.freezeTotal();
  const run = await SyncRun.open(s, options);

  progress.status = 'running';
  s.say(
    'START',
    `${items.length} image(s) to generate (${s.total} in batch) with ${provider.name}/${provider.model}, ` +
      `maxConcurrent ${run.timing.maxConcurrent}, ` +
      (run.paced ? `delay ${run.timing.delayBetweenImages}ms` : 'not paced (offline)'),
  );
  s.events.start?.({
    batchId: s.batchId,
    total: s.total,
    done: progress.completed.length,
    toDo: items.length,
  });

  for (const caseId of new Set(items.map((i) => i.caseId))) await removeStaleTemps(imagesDir(root, caseId));
  await removeStaleTemps(progressDir(root));

  const todo = await adoptOrphans(s, options);
  if (options.vision) {
    options.vision.planRun(todo.length);
    s.say('QA', options.vision.describe());
  }
  await s.persist();

  await runWorkers(run, todo);
  if (!run.stop && options.signal?.aborted) {
    const why = options.signal.reason;
    run.halt({ exitCode: ExitCode.stoppedEarly, reason: typeof why === 'string' ? why : 'interrupted' });
  }
  if (options.vision && !run.stop) await judgeLineups(run);
  return finish(run);
}

/**
 * After a crash, images finished before the progress file said so are adopted, not re-requested;
 * images another batch made since this one started are skipped. Returns what is left to make.
 */
async function adoptOrphans(s: Session, options: ExecuteOptions): Promise<PlanItem[]> {
  const { root, provider, progress } = options;
  const todo: PlanItem[] = [];
  for (const item of options.items) {
    const adopted = await adoptOrphan(
      root,
      item.caseId,
      item.imageId,
      progress.createdAtMs,
      { provider: provider.name, model: provider.model, costUsd: provider.costPerImage },
      {
        batchId: s.batchId,
        promptHash: item.promptHash,
        attempts: 1,
        generatedAt: s.now(),
        mode: 'sync',
        quality: [],
      },
    );
    if (adopted) {
      s.removePending(item);
      progress.completed.push(strip(item));
      progress.costUsd += provider.costPerImage;
      s.say('RECOVERED', `${s.label(item)} was finished before the interruption (${adopted})`);
      continue;
    }
    // Made by another batch since this one started (say a nightly fix): not paid for twice.
    const entry = options.force ? undefined : (await readManifest(root, item.caseId)).images[item.imageId];
    if (entry && entry.batchId !== s.batchId && Date.parse(entry.generatedAt) > progress.createdAtMs) {
      s.removePending(item);
      s.say(
        'SKIPPED',
        `${s.label(item)} was made by ${entry.batchId} since this batch started (--force to redo it)`,
      );
      continue;
    }
    todo.push(item);
  }
  return todo;
}

/** `maxConcurrent` workers take images off one queue until it is empty or the run stops. */
async function runWorkers(run: SyncRun, todo: PlanItem[]): Promise<void> {
  const queue = [...todo];
  let crash: unknown;
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (run.stopping()) return;
      try {
        await attemptImage(run, item);
      } catch (error) {
        // A bug or a full disk in one worker: the others stop starting requests, then it is rethrown.
        crash ??= error;
        run.halt({ exitCode: ExitCode.someFailed, reason: `unexpected error: ${errorMessage(error)}` });
        return;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(run.timing.maxConcurrent, Math.max(1, queue.length)) }, worker),
  );
  if (crash) {
    run.progress.status = 'stopped';
    await run.session.persist().catch(() => undefined);
    await run.session.log.flush().catch(() => undefined);
    throw crash;
  }
}

/** The lineup of every case whose suspects this batch made (README, "Vision QA"). */
async function judgeLineups(run: SyncRun): Promise<void> {
  const { vision, lineupCases } = run.options;
  if (!vision) return;
  const s = run.session;
  const suspectsMade = s.generated.filter((g) => g.imageId !== 'scene').map((g) => g.caseId);
  for (const caseId of new Set([...(lineupCases ?? []), ...suspectsMade])) {
    const verdict = await vision.lineup(caseId, run.gate);
    if (verdict) s.say('QA', `${caseId} lineup ${verdict.status}: ${verdictSummary(verdict)}`);
  }
}

function finish(run: SyncRun): Promise<BatchSummary> {
  const outcome = run.outcome();
  const p = run.progress;
  const total = run.session.total;
  return run.session.close(outcome, [
    'COMPLETE',
    `${p.completed.length}/${total} generated, ${p.failed.length} failed, ${p.pending.length} pending, ` +
      `$${p.costUsd.toFixed(3)} spent, ${p.apiCalls} API calls (${outcome.status})`,
  ]);
}
