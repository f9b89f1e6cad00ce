import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { listCaseIds, readCase } from '../src/cases/case-store.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { startScript } from './support/cli.ts';
import { TEST_KEY } from './support/engine.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { makeTempRoot } from './support/temp-root.ts';

let fake: FakeGemini;
let root: string;
const watchers: FSWatcher[] = [];

beforeEach(async () => {
  fake = await startFakeGemini();
  root = await makeTempRoot();
  await writeFile(join(root, 'lineup.config.json'), JSON.stringify({ timing: { delayBetweenImages: 0 } }));
  // A second copy of every sample case: enough images that all twelve kills land before the end.
  for (const caseId of await listCaseIds(root)) {
    const data = await readCase(root, caseId);
    await mkdir(join(root, 'cases', `${caseId}-b`), { recursive: true });
    await writeFile(
      join(root, 'cases', `${caseId}-b`, 'case.json'),
      JSON.stringify({
        ...data,
        id: `${caseId}-b`,
        // Distinct text, so every image of the copy has a prompt of its own.
        scene: { ...data.scene, description: `${data.scene.description} The second night.` },
        suspects: data.suspects.map((x) => ({ ...x, appearance: `${x.appearance} Seen again.` })),
      }),
    );
  }
});
afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  await fake.close();
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/** Deterministic "random" so a failure can be replayed. */
function seeded(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

test('kill -9 at many moments, then --resume: no finished image lost, none requested twice, JSON always parseable', async () => {
  // Map each prompt to its image file, so the fake can tell a second request for a finished image.
  const imageOfPrompt = new Map<string, string>();
  for (const caseId of await listCaseIds(root)) {
    const data = await readCase(root, caseId);
    for (const id of [...data.suspects.map((s) => s.id), 'scene']) {
      imageOfPrompt.set(buildPrompt(data, id).prompt, join(root, 'cases', caseId, 'images', `${id}.png`));
    }
  }
  const total = imageOfPrompt.size;
  const duplicates: string[] = [];
  fake.setHandler((req) => {
    const file = imageOfPrompt.get(req.prompt);
    if (file) {
      access(file).then(
        () => duplicates.push(relative(root, file)),
        () => undefined,
      );
    }
    return { kind: 'image', latencyMs: 5 + (req.prompt.length % 20) };
  });

  const random = seeded(20250119);
  const env = { GEMINI_API_KEY: TEST_KEY, GOOGLE_GEMINI_BASE_URL: fake.url };
  let batchId: string | undefined;
  let kills = 0;
  let finished = false;
  for (let round = 0; round < 30 && !finished; round++) {
    const args = batchId ? ['--resume', batchId] : ['--scan-all', '--fix'];
    const { child, done } = startScript('batch-generate-images.ts', args, root, env);
    const killNow = () => {
      if (child.exitCode === null && !child.killed) child.kill('SIGKILL');
    };
    // Three kinds of moment: a request in flight, an image just renamed into place, progress just rewritten.
    const moment = kills < 12 ? Math.floor(random() * 3) : -1;
    if (moment === 0) fake.waitForRequests(fake.requests.length + 1 + Math.floor(random() * 2)).then(killNow);
    if (moment === 1 || moment === 2) {
      const skip = Math.floor(random() * 3);
      let seen = 0;
      const watcher = watch(root, { recursive: true }, (_event, name) => {
        const hit =
          moment === 1
            ? /images\/[^/]+\.png$/.test(String(name))
            : /progress\/batch-.*\.json$/.test(String(name));
        if (hit && seen++ >= skip) killNow();
      });
      watchers.push(watcher);
    }
    const result = await done;
    for (const w of watchers.splice(0)) w.close();
    if (result.signal === 'SIGKILL') kills++;
    else {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      finished = true;
    }
    if (!batchId) {
      const progress = (await readdir(join(root, 'reports', 'progress')).catch(() => [])).filter((f) =>
        /^batch-.*\.json$/.test(f),
      );
      batchId = progress[0]?.replace(/\.json$/, '');
    }

    // After every stop: every JSON file parses, and every image the manifest lists is intact.
    for (const file of (await walk(root)).filter((f) => f.endsWith('.json'))) {
      const text = await readFile(file, 'utf8');
      expect(() => JSON.parse(text), file).not.toThrow();
    }
    for (const caseId of await listCaseIds(root)) {
      const manifestPath = join(root, 'cases', caseId, 'images', 'manifest.json');
      const manifest = await readFile(manifestPath, 'utf8').then(JSON.parse, () => ({ images: {} }));
      for (const entry of Object.values(manifest.images) as Array<{ file: string; sha256: string }>) {
        const bytes = await readFile(join(root, 'cases', caseId, 'images', entry.file));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.sha256);
      }
    }
  }
  expect(finished).toBe(true);
  expect(kills).toBe(12);
  expect(duplicates).toEqual([]);
  const progress = JSON.parse(await readFile(join(root, 'reports', 'progress', `${batchId}.json`), 'utf8'));
  expect(progress.completed).toHaveLength(total);
  expect(progress.pending).toEqual([]);
  // Each kill can cost at most the one request that was in flight.
  expect(fake.requests.length).toBeLessThanOrEqual(total + kills);
  // A write torn by a kill only ever lives under a temp name, never under a real file's name.
  for (const file of await walk(root)) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (name.startsWith('.')) expect(name).toMatch(/^\.[0-9a-f]{12}\.tmp$/);
    else
      expect(name).toMatch(
        /^(?:case|manifest|batch-[\d-]+|lineup\.config)\.json$|^(?:suspect-\d+|scene)\.png$|^batch-[\d-]+\.log$/,
      );
  }
}, 120_000);
