import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runScript } from './support/cli.ts';
import { TEST_KEY } from './support/engine.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { makeTempRoot } from './support/temp-root.ts';

let fake: FakeGemini;
let root: string;
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

beforeEach(async () => {
  fake = await startFakeGemini();
  root = await makeTempRoot();
  await writeFile(join(root, 'lineup.config.json'), JSON.stringify({ timing: { delayBetweenImages: 0 } }));
});
afterEach(() => fake.close());

const gemini = () => ({ GEMINI_API_KEY: TEST_KEY, GOOGLE_GEMINI_BASE_URL: fake.url });

/** Case directories holding an images/ directory (the temp root starts with none). */
async function casesWithImages(): Promise<string[]> {
  const out: string[] = [];
  for (const caseId of await readdir(join(root, 'cases'))) {
    if (await exists(join(root, 'cases', caseId, 'images'))) out.push(caseId);
  }
  return out;
}

/** Nothing half-written: no reports/, no images/ in any case, no new case directory. */
async function expectNothingWritten(): Promise<void> {
  expect(await exists(join(root, 'reports'))).toBe(false);
  expect(await casesWithImages()).toEqual([]);
  expect((await readdir(join(root, 'cases'))).sort()).toEqual([
    'case-2025-01-19',
    'case-2025-01-20',
    'case-2025-01-21',
  ]);
}

describe('batch-generate-images.ts', () => {
  test("the seed's command works offline with the placeholder provider, then skips what exists", async () => {
    const run = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-19', '--type', 'all'],
      root,
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/GEMINI_API_KEY is not set: using the offline placeholder provider/);
    expect(run.stdout).toMatch(/PROGRESS: 4\/4 \(100%\) - scene complete/);
    const manifest = JSON.parse(
      await readFile(join(root, 'cases/case-2025-01-19/images/manifest.json'), 'utf8'),
    );
    expect(manifest.images['suspect-1'].provider).toBe('placeholder');
    const again = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-19', '--type', 'scene'],
      root,
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing to generate: 1 image\(s\) already present/);
  });

  test('--type suspects and --json with the real client against the fake', async () => {
    const run = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-20', '--type', 'suspects', '--json'],
      root,
      gemini(),
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ total: 3, successful: 3, provider: 'gemini', exitCode: 0 });
    expect(fake.requests).toHaveLength(3);
    expect(run.stdout + run.stderr).not.toContain(TEST_KEY);
  });

  test('--estimate-only prints count and cost and calls nothing', async () => {
    const run = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-21', '--estimate-only'],
      root,
      gemini(),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/5 image\(s\) to generate .* about \$0\.17/);
    expect(fake.requests).toHaveLength(0);
    await expectNothingWritten();
  });

  test('--max-cost stops with exit 3 and --resume finishes', async () => {
    const first = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-19', '--max-cost', '0.05'],
      root,
      gemini(),
    );
    expect(first.code).toBe(3);
    const batchId = /Resume: .*--resume (batch-\S+)/.exec(first.stdout)?.[1] ?? '';
    expect(batchId).toMatch(/^batch-/);
    const resumed = await runScript('batch-generate-images.ts', ['--resume', batchId], root, gemini());
    expect(resumed.code).toBe(0);
    expect(fake.requests).toHaveLength(4);
  });

  test('a 401 ends with exit 1 and the key appears nowhere', async () => {
    fake.setDefault({ kind: 'status', status: 401, message: `API key not valid: ${TEST_KEY}` });
    const run = await runScript('batch-generate-images.ts', ['--case-id', 'case-2025-01-19'], root, gemini());
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).not.toContain(TEST_KEY);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('bad input: one clear line naming file and field, exit 2, nothing written', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['invalid JSON', '{"images": [', /batch\.json: is not valid JSON/],
    ['no images', { images: [] }, /batch\.json: images: must list at least one image/],
    [
      'unknown type',
      { images: [{ type: 'victim', caseId: 'case-2025-01-19' }] },
      /batch\.json: images\[0\]\.type/,
    ],
    [
      'traversal case id',
      { images: [{ type: 'scene', caseId: '../../etc' }] },
      /batch\.json: images\[0\]\.caseId/,
    ],
    [
      'suspect without id',
      { images: [{ type: 'suspect', caseId: 'case-2025-01-19' }] },
      /images\[0\]\.suspectId: is required/,
    ],
    [
      'unknown suspect',
      { images: [{ type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-7' }] },
      /batch\.json: images\[0\]: .*suspect-7/,
    ],
    [
      'unknown case',
      { images: [{ type: 'scene', caseId: 'case-2030-01-01' }] },
      /case-2030-01-01.*does not exist/,
    ],
    [
      'bad option',
      { images: [{ type: 'scene', caseId: 'case-2025-01-19' }], options: { delay: -1 } },
      /options\.delay/,
    ],
    [
      'unknown field',
      { images: [{ type: 'scene', caseId: 'case-2025-01-19', colour: 'red' }] },
      /images\[0\]\.colour/,
    ],
  ];
  test.each(cases)('%s', async (_name, content, message) => {
    const file = join(root, 'batch.json');
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    const run = await runScript('batch-generate-images.ts', ['--batch-file', 'batch.json'], root, gemini());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toHaveLength(1);
    expect(fake.requests).toHaveLength(0);
    await expectNothingWritten();
  });

  test('every problem of a batch file is listed at once', async () => {
    await writeFile(
      join(root, 'batch.json'),
      JSON.stringify({
        images: [
          { type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-9' },
          { type: 'scene', caseId: 'case-2031-02-02' },
          { type: 'scene', caseId: 'case-2025-01-20' },
        ],
      }),
    );
    const run = await runScript('batch-generate-images.ts', ['--batch-file', 'batch.json'], root, gemini());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/suspect-9/);
    expect(run.stderr).toMatch(/case-2031-02-02/);
    expect(fake.requests).toHaveLength(0);
    await expectNothingWritten();
  });

  test.each([
    [['--case-id', '../../etc'], /is not a case id/],
    [['--case-id', 'case-2025-01-19', '--type', 'villains'], /--type: "villains" is not a type/],
    [[], /give exactly one of/],
    [['--resume', 'batch-2025-01-19-999'], /no batch batch-2025-01-19-999 to resume/],
    [['--case-id', 'case-2025-01-19', '--max-cost', 'lots'], /expected an amount in USD/],
  ])('arguments %j', async (args, message) => {
    const run = await runScript('batch-generate-images.ts', args, root, gemini());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(await readdir(root)).not.toContain('reports');
    await expectNothingWritten();
  });
});
