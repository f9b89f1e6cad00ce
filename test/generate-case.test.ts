import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CaseGenerationError,
  caseResponseJsonSchema,
  generateCase,
  generateOfflineCase,
} from '../src/case-gen/index.ts';
import { readCase } from '../src/cases/case-store.ts';
import { caseFile } from '../src/cases/paths.ts';
import { caseSchema } from '../src/cases/schema.ts';
import { generateCaseCommand } from '../src/cli/generate-case.ts';
import { InputError } from '../src/errors.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { runScript } from './support/cli.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { captureOutput } from './support/output.ts';
import { makeTempRoot } from './support/temp-root.ts';

const KEY = 'test-key-0123456789abcdefghijklmnopqrstu';

function dates(from: string, n: number): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

/** What a good model answer looks like: no id or date (those are ours), three suspects. */
function validAnswer(): Record<string, unknown> {
  return {
    title: 'The Glass Orchid',
    artStyle: 'Watercolour and ink storybook illustration',
    summary: 'A rare orchid vanished from the botanical glasshouse overnight.',
    scene: {
      location: 'The Victorian glasshouse at Kew Lane',
      timeOfDay: 'Just before dawn',
      description: 'A steamy iron-and-glass house full of ferns, an empty terracotta pot on a slate bench.',
      clues: ['an empty terracotta pot', 'a muddy trowel', 'a torn seed packet'],
    },
    suspects: [
      {
        id: 'suspect-1',
        name: 'Ada Quill',
        appearance: 'A tall woman with a grey bun and half-moon glasses.',
        age: 61,
        occupation: 'Head botanist',
      },
      {
        id: 'suspect-2',
        name: 'Tom Reyes',
        appearance: 'A stocky young man with a shaved head and a gap-toothed grin.',
        occupation: 'Gardener',
      },
      {
        id: 'suspect-3',
        name: 'Lena Voss',
        appearance: 'A slight woman with a red bob and freckles.',
        demeanor: 'Twitchy',
      },
    ],
  };
}

describe('offline case generator', () => {
  it('is deterministic per case id and makes a valid, drawable case with 3 or 4 distinct suspects', () => {
    for (const date of dates('2025-01-01', 40)) {
      const id = `case-${date}`;
      const a = generateOfflineCase(id);
      expect(generateOfflineCase(id)).toEqual(a);
      expect(caseSchema.parse(a)).toEqual(a);
      expect(a.id).toBe(id);
      expect(a.date).toBe(date);
      expect(a.suspects.length).toBeGreaterThanOrEqual(3);
      expect(a.suspects.length).toBeLessThanOrEqual(4);
      for (const field of ['name', 'occupation', 'appearance', 'clothing', 'demeanor'] as const) {
        const values = a.suspects.map((s) => s[field]);
        expect(new Set(values).size, `${id} ${field}`).toBe(values.length);
      }
      expect(a.suspects.map((s) => s.id)).toEqual(a.suspects.map((_, i) => `suspect-${i + 1}`));
      expect(a.artStyle).toBeTruthy();
      expect(a.scene.clues?.length).toBeGreaterThanOrEqual(3);
      for (const imageId of [...a.suspects.map((s) => s.id), 'scene'])
        expect(() => buildPrompt(a, imageId)).not.toThrow();
    }
  });

  it('keeps looks consistent with the person: no moustache on a woman, no white hair at 25', () => {
    for (const date of dates('2025-01-01', 120)) {
      for (const s of generateOfflineCase(`case-${date}`).suspects) {
        if (/ woman /.test(s.appearance)) {
          expect(s.appearance).not.toMatch(/moustache|shaved head/);
          expect(s.clothing).not.toMatch(/tailcoat|smoking jacket/);
        } else {
          expect(s.appearance).not.toMatch(/chignon|beauty spot|plait|copper bob/);
          expect(s.clothing).not.toMatch(/gown|tea dress/);
        }
        if (/white hair standing/.test(s.appearance)) expect(s.age).toBeGreaterThanOrEqual(55);
      }
    }
  });

  it('gives every date its own case', () => {
    const cases = dates('2025-01-01', 90).map((d) => generateOfflineCase(`case-${d}`));
    const fingerprints = cases.map((c) => `${c.title}|${c.suspects.map((s) => s.name).join(',')}`);
    expect(new Set(fingerprints).size).toBe(cases.length);
    const suspectSets = cases.map((c) =>
      c.suspects
        .map((s) => s.name)
        .sort()
        .join(','),
    );
    expect(new Set(suspectSets).size).toBe(cases.length);
    // Many places and styles, not one template with new names.
    expect(new Set(cases.map((c) => c.scene.location)).size).toBeGreaterThanOrEqual(10);
    expect(new Set(cases.map((c) => c.artStyle)).size).toBeGreaterThanOrEqual(6);
    // A suffix makes another case on the same day.
    expect(generateOfflineCase('case-2025-01-19-b')).not.toEqual({
      ...generateOfflineCase('case-2025-01-19'),
      id: 'case-2025-01-19-b',
    });
  });
});

describe('generate-case command, offline', () => {
  it('writes case.json, warns that no key is set, and refuses to overwrite without --force', async () => {
    const root = await makeTempRoot();
    const out = captureOutput();
    expect(await generateCaseCommand(root, { caseId: 'case-2025-03-04' }, out, {})).toBe(0);
    const written = await readCase(root, 'case-2025-03-04');
    expect(written).toEqual(generateOfflineCase('case-2025-03-04'));
    expect(out.lines.some((l) => l.startsWith('ERR warning: GEMINI_API_KEY is not set'))).toBe(true);
    expect(out.lines.join('\n')).toMatch(/Wrote cases\/case-2025-03-04\/case\.json|Wrote .*case-2025-03-04/);

    const sample = caseFile(root, 'case-2025-01-19');
    const before = await readFile(sample, 'utf8');
    const refused = generateCaseCommand(root, { caseId: 'case-2025-01-19' }, captureOutput(), {});
    await expect(refused).rejects.toThrow(InputError);
    await expect(refused).rejects.toThrow(/already exists; pass --force/);
    expect(await readFile(sample, 'utf8')).toBe(before);

    const forced = captureOutput();
    expect(await generateCaseCommand(root, { caseId: 'case-2025-01-19', force: true }, forced, {})).toBe(0);
    expect(await readCase(root, 'case-2025-01-19')).toEqual(generateOfflineCase('case-2025-01-19'));
    expect(forced.lines.join('\n')).toMatch(/Replaced/);
  });

  it('takes the case id from --date, or from today, and checks that both agree', async () => {
    const root = await makeTempRoot({ withSamples: false });
    await generateCaseCommand(root, { date: '2025-05-06' }, captureOutput(), {});
    await stat(caseFile(root, 'case-2025-05-06'));
    await generateCaseCommand(root, {}, captureOutput(), {}, undefined, new Date('2026-02-03T23:59:00Z'));
    await stat(caseFile(root, 'case-2026-02-03'));
    await expect(
      generateCaseCommand(root, { caseId: 'case-2025-05-07', date: '2025-05-08' }, captureOutput(), {}),
    ).rejects.toThrow(/--date: 2025-05-08 does not match/);
    await expect(generateCaseCommand(root, { date: '2025-02-30' }, captureOutput(), {})).rejects.toThrow(
      /not a date/,
    );
    await expect(generateCaseCommand(root, { caseId: '../x' }, captureOutput(), {})).rejects.toThrow(
      /not a case id/,
    );
  });
});

describe('generate-case with Gemini (fake server)', () => {
  let fake: FakeGemini;
  beforeAll(async () => {
    fake = await startFakeGemini();
  });
  afterAll(async () => {
    await fake.close();
  });

  const gemini = () => ({ apiKey: KEY, apiVersion: 'v1beta', baseUrl: fake.url, timeoutMs: 5_000 });

  it('sends the derived response schema and writes a valid structured answer', async () => {
    const root = await makeTempRoot({ withSamples: false });
    const before = fake.requests.length;
    // The model's own id and date are ignored: they come from the command line.
    fake.enqueue({ kind: 'json', value: { ...validAnswer(), id: 'case-1999-01-01', date: '1999-01-01' } });
    const out = captureOutput();
    const code = await generateCaseCommand(root, { caseId: 'case-2025-04-01', apiBaseUrl: fake.url }, out, {
      GEMINI_API_KEY: KEY,
    });
    expect(code).toBe(0);
    const written = await readCase(root, 'case-2025-04-01');
    expect(written.title).toBe('The Glass Orchid');
    expect(written.date).toBe('2025-04-01');
    expect(written.suspects.map((s) => s.name)).toEqual(['Ada Quill', 'Tom Reyes', 'Lena Voss']);
    expect(out.lines.join('\n')).toContain('Gemini (gemini-3.8-flash)');
    expect(out.lines.join('\n')).not.toContain(KEY);

    const request = fake.requests[before];
    expect(request?.path).toBe('/v1beta/models/gemini-3.8-flash:generateContent');
    expect(request?.apiKey).toBe(KEY);
    expect(request?.prompt).toContain('case-2025-04-01');
    const body = request?.body as { generationConfig?: Record<string, unknown> } | undefined;
    const config = body?.generationConfig ?? {};
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseJsonSchema).toEqual(caseResponseJsonSchema());
  });

  it('derives a schema Gemini accepts: no pattern, length or $schema keywords, no id or date', () => {
    const schema = caseResponseJsonSchema();
    const text = JSON.stringify(schema);
    expect(text).not.toMatch(/"(pattern|minLength|maxLength|\$schema)"/);
    const props = schema.properties as Record<
      string,
      { properties?: Record<string, unknown>; items?: unknown }
    >;
    expect(Object.keys(props)).toEqual(['title', 'artStyle', 'summary', 'scene', 'suspects']);
    expect(schema.additionalProperties).toBe(false);
    expect(props.suspects).toMatchObject({ type: 'array', minItems: 3, maxItems: 4 });
    expect(props.suspects?.items).toMatchObject({ required: ['id', 'name', 'appearance'] });
  });

  it('writes nothing when the answer does not fit the case schema', async () => {
    const root = await makeTempRoot();
    const sample = caseFile(root, 'case-2025-01-19');
    const before = await readFile(sample, 'utf8');
    const bad = validAnswer();
    (bad.suspects as Array<Record<string, unknown>>)[1] = { id: 'suspect-2', name: '   ' };
    fake.enqueue({ kind: 'json', value: bad });
    const run = generateCase(root, { caseId: 'case-2025-01-19', force: true, gemini: gemini() });
    await expect(run).rejects.toThrow(CaseGenerationError);
    await expect(run).rejects.toThrow(/answer is not a valid case: suspects\[1\]\.name: must not be empty/);
    expect(await readFile(sample, 'utf8')).toBe(before);

    fake.enqueue({ kind: 'json', value: { ...validAnswer(), suspects: [] } });
    await expect(generateCase(root, { caseId: 'case-2025-06-01', gemini: gemini() })).rejects.toThrow(
      /suspects: must list at least one suspect/,
    );
    await expect(stat(caseFile(root, 'case-2025-06-01'))).rejects.toThrow(/ENOENT/);

    fake.enqueue({ kind: 'json', value: { ...validAnswer(), secretField: 1 } });
    await expect(generateCase(root, { caseId: 'case-2025-06-02', gemini: gemini() })).rejects.toThrow(
      /not a valid case/,
    );
    fake.enqueue({ kind: 'json', value: ['not', 'an', 'object'] });
    await expect(generateCase(root, { caseId: 'case-2025-06-02', gemini: gemini() })).rejects.toThrow(
      /not a JSON object/,
    );
    fake.enqueue({ kind: 'text-only', text: 'Sure! Here is a case: ...' });
    await expect(generateCase(root, { caseId: 'case-2025-06-02', gemini: gemini() })).rejects.toThrow(
      /answer is not JSON/,
    );
    // A description so long the image prompt would pass its limit.
    const long = validAnswer();
    (long.scene as Record<string, unknown>).description = `${'A very detailed room. '.repeat(68)}`.trim();
    (long.scene as Record<string, unknown>).clues = Array.from(
      { length: 12 },
      (_, i) => `${'clue '.repeat(22)}${i}`,
    );
    (long.scene as Record<string, unknown>).location = 'x'.repeat(120);
    (long.scene as Record<string, unknown>).mood = 'y'.repeat(120);
    (long.scene as Record<string, unknown>).weather = 'z'.repeat(120);
    (long.scene as Record<string, unknown>).timeOfDay = 'w'.repeat(120);
    long.artStyle = 'v'.repeat(240);
    expect(caseSchema.safeParse({ ...long, id: 'case-2025-06-02', date: '2025-06-02' }).success).toBe(true);
    fake.enqueue({ kind: 'json', value: long });
    await expect(generateCase(root, { caseId: 'case-2025-06-02', gemini: gemini() })).rejects.toThrow(
      /cannot be drawn: .*prompt too long/,
    );
    await expect(stat(caseFile(root, 'case-2025-06-02'))).rejects.toThrow(/ENOENT/);
  });

  it('reports API failures without the key and refuses an existing case before calling', async () => {
    const root = await makeTempRoot();
    fake.enqueue({ kind: 'status', status: 401 });
    const failed = generateCase(root, { caseId: 'case-2025-07-01', gemini: gemini() });
    await expect(failed).rejects.toThrow(/gemini-3.8-flash request failed \(auth\)/);
    await expect(failed).rejects.not.toThrow(KEY);
    fake.enqueue({ kind: 'prompt-blocked' });
    await expect(generateCase(root, { caseId: 'case-2025-07-01', gemini: gemini() })).rejects.toThrow(
      /refused the request: PROHIBITED_CONTENT/,
    );
    const calls = fake.requests.length;
    await expect(generateCase(root, { caseId: 'case-2025-01-19', gemini: gemini() })).rejects.toThrow(
      /already exists/,
    );
    expect(fake.requests.length).toBe(calls);
  });

  it('exits 1 on an invalid answer and 2 on an existing case, from the command line', async () => {
    const root = await makeTempRoot();
    const run = (args: string[]) =>
      runScript('generate-case.ts', args, root, { GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: fake.url });
    fake.enqueue({ kind: 'json', value: { title: 'No suspects at all' } });
    const invalid = await run(['--case-id', 'case-2025-08-01']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/error: gemini-3\.8-flash's answer is not a valid case: scene/);
    await expect(stat(caseFile(root, 'case-2025-08-01'))).rejects.toThrow(/ENOENT/);

    const exists = await run(['--case-id', 'case-2025-01-19']);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/case\.json: already exists; pass --force/);

    fake.enqueue({ kind: 'json', value: validAnswer() });
    const ok = await run(['--case-id', 'case-2025-08-02']);
    expect(ok.code).toBe(0);
    expect((await readCase(root, 'case-2025-08-02')).title).toBe('The Glass Orchid');
    expect(ok.stdout + ok.stderr).not.toContain(KEY);

    const offline = await run(['--date', '2025-08-03', '--offline']);
    expect(offline.code).toBe(0);
    expect(await readCase(root, 'case-2025-08-03')).toEqual(generateOfflineCase('case-2025-08-03'));
  });
});
