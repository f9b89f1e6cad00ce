import { pathToFileURL } from 'node:url';
import { checkout, makeLineupRemote, runnerEnv, secretKey, startAction } from '../test/support/action-env.ts';
import { startFakeGemini } from '../test/support/fake-gemini.ts';
import { startFakeGitHub } from '../test/support/fake-github.ts';
import { median } from './median.ts';

/**
 * How long a cancelled batch-generate takes, as a runner cancels it: the committed bundle against
 * the fake Gemini (two quick images, then one that never answers) and a local bare remote. SIGINT
 * once two images are saved; the figure is the action's own "Cancel: … N ms after the signal"
 * (SIGINT to the pushed commit). Then SIGTERM at once, as a runner would 7.5 s later, and the time
 * to exit (give up the request in flight, mark the batch stopped, push, PR body, summary).
 * Run `npm run build` first: it measures actions/batch-generate/dist.
 */
export async function benchCancel(runs = 3): Promise<string[]> {
  const token = 'ghs_benchtoken0123456789abcdef';
  const gemini = await startFakeGemini();
  const pushed: number[] = [];
  const exits: number[] = [];
  try {
    for (let n = 0; n < runs; n++) {
      const [remote, github] = await Promise.all([makeLineupRemote(), startFakeGitHub({ token })]);
      try {
        let seen = 0;
        gemini.setHandler(() => (seen++ < 2 ? undefined : { kind: 'image', latencyMs: 600_000 }));
        const before = gemini.requests.length;
        const child = await startAction('batch-generate', {
          cwd: await checkout(remote),
          inputs: {
            'case-id': 'case-2025-01-19',
            commit: 'true',
            'open-pr': 'true',
            'github-token': token,
            'gemini-api-key': secretKey(),
          },
          env: runnerEnv({ github, gemini }, { event: 'workflow_dispatch' }),
        });
        await child.waitForOutput(/PROGRESS: 2\/4/);
        await gemini.waitForRequests(before + 3);
        child.kill('SIGINT');
        const line = await child.waitForOutput(/Cancel: .* (\d+) ms after the signal/);
        pushed.push(Number(/(\d+) ms after the signal/.exec(line)?.[1]));
        const sigterm = performance.now();
        child.kill('SIGTERM');
        await child.done;
        exits.push(performance.now() - sigterm);
      } finally {
        await github.close();
        await remote.cleanup();
      }
    }
  } finally {
    await gemini.close();
  }
  return [
    `SIGINT -> what had answered is pushed: median ${median(pushed).toFixed(0)} ms over ${runs} runs (${pushed.map((x) => x.toFixed(0)).join(', ')} ms)`,
    `  = ${(median(pushed) / 5_000).toFixed(3)} of the 5 s the issue allows`,
    `SIGTERM -> process exit (request given up, batch stopped, pushed, PR and summary updated): median ${median(exits).toFixed(0)} ms`,
    `  = ${(median(exits) / 2_500).toFixed(3)} of the 2.5 s before the runner's kill`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchCancel()) console.log(line);
}
