import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { listCaseIds, readCase, writeCase } from '../src/cases/case-store.ts';
import { isRealDate } from '../src/cases/ids.ts';
import { readManifest, updateManifest, writeManifest } from '../src/cases/manifest-store.ts';
import type { Case, ManifestEntry } from '../src/cases/schema.ts';
import { InputError } from '../src/errors.ts';
import { makeTempRoot } from './support/temp-root.ts';

const SAMPLES = ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21'];
const roots: string[] = [];

async function tempRoot(withSamples = true): Promise<string> {
  const root = await makeTempRoot({ withSamples });
  roots.push(root);
  return root;
}

afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function sample(): Promise<Case> {
  return JSON.parse(
    await readFile(join(import.meta.dirname, '..', 'cases', 'case-2025-01-19', 'case.json'), 'utf8'),
  );
}

async function errorOf(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('sample cases', () => {
  test('all three load and are listed', async () => {
    const root = await tempRoot();
    expect(await listCaseIds(root)).toEqual(SAMPLES);
    for (const id of SAMPLES) {
      const c = await readCase(root, id);
      expect(c.id).toBe(id);
      expect(c.suspects.length).toBeGreaterThanOrEqual(3);
      expect(c.artStyle).toBeTruthy();
    }
    const styles = await Promise.all(SAMPLES.map(async (id) => (await readCase(root, id)).artStyle));
    expect(new Set(styles).size).toBe(3);
  });

  test('a temp root gets the case files but never images left in the working tree by a run', async () => {
    const root = await tempRoot();
    for (const id of SAMPLES) expect(await readdir(join(root, 'cases', id))).toEqual(['case.json']);
  });
});

type Mutate = (c: Record<string, unknown> & Case) => unknown;

const badCases: Array<{ name: string; field: string; mutate?: Mutate; text?: string; message?: RegExp }> = [
  {
    name: 'missing field',
    field: 'title',
    mutate: (c) => {
      delete (c as Partial<Case>).title;
    },
    message: /required/,
  },
  {
    name: 'wrong type',
    field: 'suspects[0].name',
    mutate: (c) => {
      (c.suspects[0] as Record<string, unknown>).name = 42;
    },
    message: /expected string, got number/,
  },
  {
    name: 'duplicate suspect id',
    field: 'suspects[2].id',
    mutate: (c) => {
      (c.suspects[2] as { id: string }).id = 'suspect-1';
    },
    message: /duplicate suspect id suspect-1/,
  },
  {
    name: 'traversal id',
    field: 'id',
    mutate: (c) => {
      c.id = '../../etc';
    },
  },
  {
    name: 'id with NUL',
    field: 'id',
    mutate: (c) => {
      c.id = 'case-2025-01-19\u0000';
    },
  },
  {
    name: 'absolute path id',
    field: 'id',
    mutate: (c) => {
      c.id = '/etc/passwd';
    },
  },
  {
    name: 'Cyrillic look-alike id',
    field: 'id',
    mutate: (c) => {
      c.id = '\u0441ase-2025-01-19';
    },
    // Escaped, so the user can see which letter is not what it looks like.
    message: /got "\\u0441ase-2025-01-19"/,
  },
  {
    name: 'fullwidth digits id',
    field: 'id',
    mutate: (c) => {
      c.id = 'case-２０２５-01-19';
    },
  },
  {
    name: 'empty suspects',
    field: 'suspects',
    mutate: (c) => {
      c.suspects = [];
    },
    message: /at least one/,
  },
  {
    name: 'more than 8 suspects',
    field: 'suspects',
    mutate: (c) => {
      const base = c.suspects[0];
      if (!base) throw new Error('sample has no suspect');
      c.suspects = Array.from({ length: 9 }, (_, i) => ({ ...base, id: `suspect-${i + 1}` }));
    },
    message: /at most 8/,
  },
  {
    name: 'text over the limit',
    field: 'suspects[1].appearance',
    mutate: (c) => {
      (c.suspects[1] as { appearance: string }).appearance = 'a'.repeat(1501);
    },
    message: /at most 1500 characters \(got 1501\)/,
  },
  { name: 'invalid JSON', field: '', text: '{ "id": "case-2025-01-19", }', message: /not valid JSON/ },
  {
    name: 'unknown field',
    field: 'scene.smell',
    mutate: (c) => {
      (c.scene as Record<string, unknown>).smell = 'x';
    },
  },
  {
    name: 'date mismatch',
    field: 'date',
    mutate: (c) => {
      c.date = '2025-01-20';
    },
    message: /match/,
  },
  {
    name: 'not a real date',
    field: 'date',
    mutate: (c) => {
      c.date = '2025-02-30';
    },
  },
  {
    name: 'bad suspect id',
    field: 'suspects[0].id',
    mutate: (c) => {
      (c.suspects[0] as { id: string }).id = 'suspect-0';
    },
    message: /suspect-N/,
  },
  {
    name: 'id differs from directory',
    field: 'id',
    mutate: (c) => {
      c.id = 'case-2025-01-19-copy';
    },
  },
  { name: 'root is an array', field: '(root)', text: '[]' },
  {
    name: 'empty title after trim',
    field: 'title',
    mutate: (c) => {
      c.title = '   ';
    },
    message: /empty/,
  },
];

describe('bad case files', () => {
  test('there are at least twelve kinds', () => {
    expect(badCases.length).toBeGreaterThanOrEqual(12);
  });

  test.each(badCases)(
    '$name: one line naming the file and the field',
    async ({ field, mutate, text, message }) => {
      const root = await tempRoot();
      const file = join(root, 'cases', 'case-2025-01-19', 'case.json');
      let body = text;
      if (body === undefined) {
        const c = (await sample()) as Record<string, unknown> & Case;
        mutate?.(c);
        body = JSON.stringify(c, null, 2);
      }
      await writeFile(file, body);
      const error = await errorOf(readCase(root, 'case-2025-01-19'));
      expect(error.message.split('\n')).toHaveLength(1);
      expect(error.file).toBe(file);
      expect(error.message.startsWith(`${file}: `)).toBe(true);
      if (field) {
        expect(error.field).toBe(field);
        expect(error.message).toContain(`: ${field}: `);
      }
      if (message) expect(error.message).toMatch(message);
    },
  );
});

describe('isRealDate', () => {
  /** The definition it replaced: what a round trip through Date gives back unchanged. */
  const byDate = (ymd: string) => {
    const d = new Date(`${ymd}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === ymd;
  };

  test('agrees with a round trip through Date on every day, month and edge year', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    let real = 0;
    for (const year of ['0000', '0004', '1900', '1999', '2000', '2024', '2025', '2100', '2400', '9999']) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const ymd = `${year}-${two(month)}-${two(day)}`;
          expect(isRealDate(ymd), ymd).toBe(byDate(ymd));
          if (byDate(ymd)) real += 1;
        }
      }
    }
    expect(real).toBe(5 * 366 + 5 * 365);
    for (const odd of [
      '',
      '2025-1-19',
      '2025-01-19 ',
      '+02025-01-19',
      '2025-01-19T00',
      '２０２５-01-19',
      'abcd-ef-gh',
    ])
      expect(isRealDate(odd), odd).toBe(false);
  });
});

describe('readCase ids', () => {
  test.each([
    '../../etc',
    '..',
    '/etc/passwd',
    'case-2025-01-19/../../x',
    'case-2025-01-19\u0000',
    '\u0441ase-2025-01-19',
    'case-2025-13-01',
    '',
  ])('refuses %j before touching the filesystem', async (id) => {
    // A root that does not exist: any filesystem access would surface as ENOENT, not an id error.
    const error = await errorOf(readCase('/nonexistent-lineup-root', id));
    expect(error.field).toBe('case-id');
    expect(error.message).toMatch(/is not a case id/);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  test('a missing case names the file and how to create it', async () => {
    const root = await tempRoot();
    const error = await errorOf(readCase(root, 'case-2030-05-05'));
    expect(error.message).toContain('case case-2030-05-05 does not exist');
    expect(error.message).toContain(join(root, 'cases', 'case-2030-05-05', 'case.json'));
    expect(error.message).toContain('scripts/generate-case.ts --case-id case-2030-05-05');
  });
});

describe('listCaseIds and writeCase', () => {
  test('[] without a cases folder; ignores odd folders and folders without case.json', async () => {
    const root = await tempRoot(false);
    expect(await listCaseIds(root)).toEqual([]);
    await mkdir(join(root, 'cases', 'not-a-case'), { recursive: true });
    await writeFile(join(root, 'cases', 'not-a-case', 'case.json'), '{}');
    await mkdir(join(root, 'cases', 'case-2025-02-01'), { recursive: true });
    await writeFile(join(root, 'cases', 'README.md'), 'x');
    expect(await listCaseIds(root)).toEqual([]);
  });

  test('round trip, and invalid data is refused without writing', async () => {
    const root = await tempRoot(false);
    const c = { ...(await sample()), id: 'case-2025-03-04-b', date: '2025-03-04' };
    await writeCase(root, c);
    expect(await readCase(root, 'case-2025-03-04-b')).toEqual(c);
    expect(await listCaseIds(root)).toEqual(['case-2025-03-04-b']);

    const bad = { ...c, id: 'case-2025-03-05', date: '2025-03-05', suspects: [] };
    const error = await errorOf(writeCase(root, bad));
    expect(error.field).toBe('suspects');
    expect(await listCaseIds(root)).toEqual(['case-2025-03-04-b']);
    await expect(writeCase(root, { ...c, id: '../../evil' })).rejects.toBeInstanceOf(InputError);
  });
});

function entry(imageId: string, n: number): ManifestEntry {
  return {
    file: `${imageId}.png`,
    sha256: n.toString(16).padStart(64, '0'),
    bytes: 100 + n,
    width: 864,
    height: 1184,
    mimeType: 'image/png',
    provider: 'placeholder',
    model: 'placeholder',
    promptHash: 'abc',
    generatedAt: '2025-01-19T10:00:00.000Z',
    batchId: 'batch-2025-01-19-001',
    attempts: 1,
    costUsd: 0,
    mode: 'sync',
    quality: [],
    review: { status: 'pending', by: null, at: null, pullRequest: null, feedback: null },
  };
}

describe('manifest', () => {
  test('missing file reads as empty; round trip', async () => {
    const root = await tempRoot();
    expect(await readManifest(root, 'case-2025-01-19')).toEqual({ caseId: 'case-2025-01-19', images: {} });
    const manifest = { caseId: 'case-2025-01-19', images: { scene: entry('scene', 1) } };
    await writeManifest(root, manifest);
    expect(await readManifest(root, 'case-2025-01-19')).toEqual(manifest);
    const dir = join(root, 'cases', 'case-2025-01-19', 'images');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('malformed manifest is one InputError naming file and field', async () => {
    const root = await tempRoot();
    const file = join(root, 'cases', 'case-2025-01-19', 'images', 'manifest.json');
    await mkdir(join(file, '..'), { recursive: true });
    const bad = { caseId: 'case-2025-01-19', images: { scene: { ...entry('scene', 1), sha256: 'nope' } } };
    await writeFile(file, JSON.stringify(bad));
    const error = await errorOf(readManifest(root, 'case-2025-01-19'));
    expect(error.file).toBe(file);
    expect(error.field).toBe('images.scene.sha256');
    await writeFile(file, '{');
    expect((await errorOf(readManifest(root, 'case-2025-01-19'))).message).toMatch(/not valid JSON/);
    await writeFile(file, JSON.stringify({ caseId: 'case-2025-01-20', images: {} }));
    expect((await errorOf(readManifest(root, 'case-2025-01-19'))).field).toBe('caseId');
  });

  test('concurrent updates lose nothing', async () => {
    const root = await tempRoot();
    const ids = ['suspect-1', 'suspect-2', 'suspect-3', 'scene'];
    const rounds = 5;
    await Promise.all(
      Array.from({ length: rounds }, (_, round) =>
        ids.map((id, i) =>
          updateManifest(root, 'case-2025-01-19', async (m) => {
            // Yield inside the critical section so an unlocked version would interleave.
            await new Promise((r) => setTimeout(r, 1));
            const previous = m.images[id]?.attempts ?? 0;
            m.images[id] = { ...entry(id, round * 10 + i), attempts: previous + 1 };
          }),
        ),
      ).flat(),
    );
    const manifest = await readManifest(root, 'case-2025-01-19');
    expect(Object.keys(manifest.images).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(manifest.images[id]?.attempts).toBe(rounds);
  });

  test('a throwing change writes nothing and does not block the next update', async () => {
    const root = await tempRoot();
    await expect(
      updateManifest(root, 'case-2025-01-19', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const m = await updateManifest(root, 'case-2025-01-19', (m) => {
      m.images.scene = entry('scene', 2);
    });
    expect(Object.keys(m.images)).toEqual(['scene']);
    expect((await readManifest(root, 'case-2025-01-19')).images.scene?.bytes).toBe(102);
  });
});
