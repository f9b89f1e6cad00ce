import * as core from '@actions/core';
import { Branches } from '../branches.ts';
import { Shutdown } from '../cancel.ts';
import { apiKeyInput, runFace, workspace } from '../inputs.ts';
import { uploadRunReports } from '../publish.ts';
import { generate, prepare } from './generate.ts';
import { submitGroupBatch } from './group-batch.ts';
import { readInputs } from './inputs.ts';
import { generateGroup } from './run-group.ts';

/**
 * The batch-generate action: reads its inputs once, runs one case (or batch file, resume, scan)
 * or a group of cases, and reports. One top-level catch, so every failure is one clear line and
 * the key is never in it.
 */
export async function run(): Promise<void> {
  let shutdown: Shutdown | undefined;
  await runFace([apiKeyInput(), core.getInput('github-token').trim()], async () => {
    const inputs = readInputs();
    // Installed before anything is planned: from here on a cancel never kills the process outright.
    shutdown = new Shutdown({
      deadlineMs: inputs.deadlineMinutes === undefined ? undefined : inputs.deadlineMinutes * 60_000,
    }).install();
    if (inputs.caseIds.length) {
      await generateGroup(inputs, shutdown, {
        generate,
        submitGroup: (i, planned, stop, shared) =>
          submitGroupBatch(i, planned, stop, shared, {
            prepare,
            upload: (name, result) => uploadRunReports(workspace(), name, result),
          }),
        makeBranches: () => new Branches(workspace(), inputs.githubToken),
        secrets: [inputs.apiKey, inputs.githubToken],
      });
    } else {
      await generate(inputs, shutdown);
    }
  });
  shutdown?.dispose();
  // A cancelled run ends now: a request given up may still hold a socket, and the kill is near.
  if (shutdown?.cancelled) process.exit();
}
