import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCase } from '../src/cases/case-store.ts';
import { parseManifest } from '../src/cases/manifest-store.ts';
import type { Manifest } from '../src/cases/schema.ts';
import { quickCase, quickManifest } from '../src/scan/quick-parse.ts';

/*
 * The scan's quick check may refuse a valid document (the schema then decides), but must never
 * accept one the schema refuses, nor read a field differently. Every document below, valid or
 * broken in one place, goes through both.
 */

const CASE_ID = 'case-2025-01-19';

async function sampleCase(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`../cases/${CASE_ID}/case.json`, import.meta.url), 'utf8'));
}

function sampleManifest(): Manifest {
  const entry = (file: string) => ({
    file,
    sha256: 'a'.repeat(64),
    bytes: 1234,
    mtimeMs: 1737280800000.5,
    width: 864,
    height: 1184,
    mimeType: 'image/png' as const,
    provider: 'gemini' as const,
    model: 'gemini-2.5-flash-image',
    promptHash: 'b'.repeat(64),
    generatedAt: '2025-01-19T10:00:00Z',
    batchId: 'batch-2025-01-19-001',
    attempts: 1,
    costUsd: 0.039,
    mode: 'sync' as const,
    quality: [],
    review: { status: 'approved' as const, by: 'alice', at: null, pullRequest: 1, feedback: null },
  });
  const usage = { prompt: 300, image: 1120, text: 0, thoughts: 120, total: 1540 };
  const verdict = {
    status: 'pass' as const,
    score: 0.9,
    checks: ['matches-prompt', 'one-person'],
    issues: [{ check: 'style', detail: 'a little bright' }],
    model: 'gemini-3.1-flash-lite',
    rubricVersion: 2,
    rubricHash: 'c'.repeat(16),
    calls: 1,
    costUsd: 0.0006,
    usage,
    repairs: 0,
    judgedAt: '2025-01-19T10:01:00Z',
  };
  // The optional parts as a real run writes them: how the image was made, and the judge's verdicts.
  const made = {
    ...entry('suspect-1.png'),
    provenance: {
      promptTemplateVersion: 3,
      imageConfig: { aspectRatio: '3:4', imageSize: '1K' },
      references: [{ role: 'style' as const, file: 'styles/noir.png', sha256: 'd'.repeat(64) }],
      usage,
      actualCostUsd: 0.035,
    },
    vision: verdict,
  };
  return { caseId: CASE_ID, images: { 'suspect-1': made, scene: entry('scene.jpg') }, lineup: verdict };
}

/** Values that break some field somewhere: wrong types, edges of the limits, text zod would trim. */
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  121,
  2 ** 60,
  '',
  ' ',
  ' padded',
  'padded\n',
  'x'.repeat(121),
  'x'.repeat(1501),
  'suspect-0',
  'scene',
  'case-2025-01-20',
  '2025-02-30',
  'image/gif',
  'placeholder',
  'batch',
  'maybe',
  [],
  ['x', 1],
  {},
  { extra: true },
  true,
];

/** Every path to a value in `value`, objects and arrays included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string, unknown>)[k], [...prefix, k]))];
}

/** A copy of `doc` with the value at `path` replaced (undefined deletes it). */
function withValue(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

/** Variants of a document: each value swapped for each odd value, and an unknown key in each object. */
function variants(doc: unknown): string[] {
  const out: string[] = [JSON.stringify(doc)];
  for (const path of paths(doc)) {
    for (const value of ODD_VALUES) out.push(JSON.stringify(withValue(doc, path, value)) ?? 'undefined');
    const at = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], doc);
    if (typeof at === 'object' && at !== null && !Array.isArray(at)) {
      out.push(JSON.stringify(withValue(doc, [...path, 'unknownKey'], 'x')));
    }
  }
  // Things JSON.stringify cannot produce.
  const text = JSON.stringify(doc);
  out.push(text.replace(/"bytes":\d+/, '"bytes":1e999'), text.replace(/^\{/, '{"__proto__":{"x":1},'));
  return out;
}

function schemaResult<T>(parse: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: parse() };
  } catch {
    return { ok: false };
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

describe('the scan quick check agrees with the schemas', () => {
  it('case.json: accepts the valid sample, and nothing the schema refuses', async () => {
    const doc = await sampleCase();
    expect(quickCase(doc, CASE_ID)).not.toBeNull();
    let accepted = 0;
    for (const text of variants(doc)) {
      const quick = quickCase(tryJson(text), CASE_ID);
      if (quick === null) continue;
      accepted += 1;
      const schema = schemaResult(() => parseCase(text, CASE_ID, 'case.json'));
      expect(schema, text).toEqual({ ok: true, value: quick });
    }
    // Some variants stay valid (an optional field removed): the check is not merely refusing all.
    expect(accepted).toBeGreaterThan(5);
  });

  it('manifest.json: accepts the valid sample, and nothing the schema refuses', () => {
    const doc = sampleManifest();
    expect(quickManifest(structuredClone(doc), CASE_ID)).not.toBeNull();
    expect(quickManifest(structuredClone(doc), 'case-2025-01-20')).toBeNull();
    let accepted = 0;
    for (const text of variants(doc)) {
      const quick = quickManifest(tryJson(text), CASE_ID);
      if (quick === null) continue;
      accepted += 1;
      const schema = schemaResult(() => parseManifest(text, CASE_ID, 'manifest.json'));
      expect(schema.ok, text).toBe(true);
      // The schema strips unknown keys; the quick check leaves them (the scan never reads them).
      if (schema.ok) expect(quick, text).toMatchObject(schema.value);
    }
    expect(accepted).toBeGreaterThan(5);
  });
});
