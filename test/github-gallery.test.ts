import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { FailureRecord } from '../src/batch/types.ts';
import { caseSchema, manifestSchema } from '../src/cases/schema.ts';
import {
  buildGalleryTable,
  buildPullRequestBody,
  buildSummaryMarkdown,
  escapeCell,
  formatUsd,
  GALLERY_MARKER,
  type GalleryImage,
  galleryImagesFromManifest,
  rawImageUrl,
} from '../src/github/gallery.ts';
import { annotateFailures, writeJobSummary } from '../src/github/summary.ts';
import { galleryImage } from './support/gallery-image.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

const opts = (images: GalleryImage[]) => ({
  owner: 'acme',
  repo: 'lineup',
  sha: SHA,
  serverUrl: 'https://github.com',
  images,
});

/** The table rows of a markdown document, split into cells on unescaped pipes. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.split(/(?<!\\)\|/).slice(1, -1));
}

describe('escapeCell', () => {
  test('keeps a cell one inert line', () => {
    const out = escapeCell('a | b\nc <img src=x onerror=alert(1)> [link](http://x) @octocat **bold** `code`');
    expect(out).not.toMatch(/\n/);
    expect(out).not.toMatch(/(?<!\\)\|/);
    expect(out).not.toMatch(/<|>/);
    expect(out).not.toContain('@');
    expect(out).toContain('\\[link\\]\\(http://x\\)');
    expect(out).toContain('\\*\\*bold\\*\\*');
  });
});

describe('rawImageUrl', () => {
  test('points at the file at the commit, with every segment encoded', () => {
    expect(
      rawImageUrl({
        owner: 'acme',
        repo: 'lineup',
        sha: SHA,
        path: 'cases/case-2025-01-19/images/suspect-1.png',
      }),
    ).toBe(`https://github.com/acme/lineup/blob/${SHA}/cases/case-2025-01-19/images/suspect-1.png?raw=true`);
    expect(
      rawImageUrl({
        serverUrl: 'https://ghe.example/',
        owner: 'a',
        repo: 'b',
        sha: SHA,
        path: 'x/"><script>.png',
      }),
    ).toBe(`https://ghe.example/a/b/blob/${SHA}/x/%22%3E%3Cscript%3E.png?raw=true`);
  });
});

describe('formatUsd', () => {
  test.each([
    [0.039, '$0.039'],
    [0.0195, '$0.0195'],
    [0.039 * 3, '$0.117'],
    [5, '$5.00'],
    [0, '$0.00'],
  ])('%s → %s', (value, text) => expect(formatUsd(value)).toBe(text));
});

describe('buildPullRequestBody', () => {
  const images = [
    galleryImage(),
    galleryImage({
      imageId: 'scene',
      name: 'Crime scene',
      file: 'cases/case-2025-01-19/images/scene.png',
      prompt: 'A greenhouse | at night\n<b>rain</b>',
      provider: 'placeholder',
      model: 'placeholder',
      costUsd: 0,
      mode: 'batch',
      quality: ['too_dark'],
      review: 'approved',
    }),
  ];
  const body = buildPullRequestBody({
    ...opts(images),
    batchId: 'batch-2025-01-19-001',
    failures: [
      {
        caseId: 'case-2025-01-19',
        imageId: 'suspect-2',
        error: 'HTTP 400 | bad\nprompt',
        errorType: 'validation',
      },
    ],
  });

  test('embeds each image from the branch commit, one table row each, with the total cost', () => {
    expect(body.startsWith(GALLERY_MARKER)).toBe(true);
    expect(body).toContain(
      `<img src="https://github.com/acme/lineup/blob/${SHA}/cases/case-2025-01-19/images/suspect-1.png?raw=true"`,
    );
    expect(body).toContain(`/blob/${SHA}/cases/case-2025-01-19/images/scene.png?raw=true`);
    const table = rows(body.slice(0, body.indexOf('### Not generated')));
    expect(table[0]?.map((c) => c.trim())).toEqual([
      'Image',
      'Case',
      'Id',
      'Shows',
      'Model',
      'Cost',
      'Flags',
      'Review',
    ]);
    const data = table.slice(2);
    expect(data).toHaveLength(3);
    expect(data.every((r) => r.length === 8)).toBe(true);
    expect(data[0]?.[3]?.trim()).toBe('Ada Finch');
    expect(data[0]?.[5]?.trim()).toBe('$0.039');
    expect(data[1]?.[4]).toContain('(batch)');
    expect(data[1]?.[6]).toContain('placeholder');
    expect(data[1]?.[6]).toContain('too\\_dark');
    expect(data[1]?.[7]).toContain('approved');
    expect(data[2]?.[5]).toContain('$0.039');
    expect(body).toMatch(/\[!WARNING\][^\n]*\n> 1 image is a placeholder/);
  });

  test('shows prompts escaped, failures, and how to review', () => {
    expect(body).toContain('A greenhouse \\| at night &lt;b&gt;rain&lt;/b&gt;');
    expect(body).not.toContain('<b>rain');
    expect(body).toContain('### Not generated');
    expect(body).toContain('HTTP 400 \\| bad prompt');
    expect(body).toContain('### How to review');
    expect(body).toContain('Approve this pull request');
    expect(body).toContain('`/regenerate suspect-1 make the hat red`');
    expect(body).toContain('cases/case-2025-01-19/images/suspect-1.png');
    expect(body).not.toContain('several cases');
  });

  test('text inside HTML is entity-escaped, not backslash-escaped', () => {
    const md = buildPullRequestBody(opts([galleryImage({ name: 'Ada | <Finch> @x' })]));
    expect(md).toContain('<summary>case-2025-01-19 / suspect-1: Ada &#124; &lt;Finch&gt; &#64;x</summary>');
  });

  test('case data cannot break the table or inject markup', () => {
    const evil = galleryImage({
      name: 'Eve | </td><script>alert(1)</script>\n| x | y |',
      prompt: '@everyone ![img](http://evil)',
    });
    const md = buildGalleryTable(opts([evil]));
    expect(rows(md)[2]).toHaveLength(8);
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('@everyone');
  });

  test('multi-case PRs explain the case-qualified command', () => {
    const md = buildPullRequestBody(
      opts([
        galleryImage(),
        galleryImage({ caseId: 'case-2025-01-20', file: 'cases/case-2025-01-20/images/suspect-1.png' }),
      ]),
    );
    expect(md).toContain('several cases');
    expect(md).toContain('/regenerate case-2025-01-19/suspect-1');
  });

  test('the job summary carries the same table', () => {
    const summary = buildSummaryMarkdown({ ...opts(images), title: 'Batch batch-2025-01-19-001' });
    expect(summary).toContain(buildGalleryTable(opts(images)));
    expect(buildSummaryMarkdown(opts([]))).toContain('No images generated');
  });

  test('a job summary without a pushed commit shows no picture, never one from HEAD of the default branch', () => {
    const summary = buildSummaryMarkdown({ ...opts(images), sha: '' });
    expect(summary).not.toContain('<img');
    expect(summary).not.toContain('/blob/');
    expect(rows(summary)[2]?.[0]?.trim()).toBe('_not committed_');
    expect(summary).toContain('Ada Finch');
  });
});

describe('galleryImagesFromManifest', () => {
  test('names suspects from the case, orders suspects then scene, carries review state', () => {
    const caseData = caseSchema.parse({
      id: 'case-2025-01-19',
      title: 'The Greenhouse',
      date: '2025-01-19',
      scene: { description: 'A greenhouse' },
      suspects: [
        { id: 'suspect-1', name: 'Ada', appearance: 'tall' },
        { id: 'suspect-10', name: 'Jo', appearance: 'short' },
        { id: 'suspect-2', name: 'Bo', appearance: 'round' },
      ],
    });
    const e = (file: string) => ({
      file,
      sha256: 'a'.repeat(64),
      bytes: 1,
      width: 1,
      height: 1,
      mimeType: 'image/png',
      provider: 'gemini',
      model: 'm',
      promptHash: 'h',
      generatedAt: 't',
      batchId: 'b',
      attempts: 1,
      costUsd: 0.039,
      quality: ['blurry'],
      review: { status: 'changes-requested', feedback: 'red hat' },
    });
    const manifest = manifestSchema.parse({
      caseId: 'case-2025-01-19',
      images: {
        scene: e('scene.png'),
        'suspect-10': e('suspect-10.png'),
        'suspect-2': e('suspect-2.jpg'),
        'suspect-1': e('suspect-1.png'),
      },
    });
    const out = galleryImagesFromManifest(caseData, manifest, (id) => `prompt for ${id}`);
    expect(out.map((i) => [i.imageId, i.name])).toEqual([
      ['suspect-1', 'Ada'],
      ['suspect-2', 'Bo'],
      ['suspect-10', 'Jo'],
      ['scene', 'Crime scene'],
    ]);
    expect(out[1]).toMatchObject({
      file: 'cases/case-2025-01-19/images/suspect-2.jpg',
      prompt: 'prompt for suspect-2',
      quality: ['blurry'],
      review: 'changes-requested',
      feedback: 'red hat',
      mode: 'sync',
    });
    expect(galleryImagesFromManifest(caseData, manifest, () => '', ['scene']).map((i) => i.imageId)).toEqual([
      'scene',
    ]);
  });
});

describe('job summary and annotations', () => {
  let dir: string;
  const saved = process.env.GITHUB_STEP_SUMMARY;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lineup-summary-'));
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
    else process.env.GITHUB_STEP_SUMMARY = saved;
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  test('writeJobSummary appends to GITHUB_STEP_SUMMARY, and is a no-op without it', async () => {
    const file = join(dir, 'summary.md');
    await writeFile(file, 'earlier step\n');
    process.env.GITHUB_STEP_SUMMARY = file;
    expect(await writeJobSummary('| a | b |\n|---|---|')).toBe(true);
    expect(await writeJobSummary('second')).toBe(true);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^earlier step\n\| a \| b \|\n\|---\|---\|\n/);
    expect(text.match(/\| a \| b \|/g)).toHaveLength(1);
    expect(text).toContain('second');
    delete process.env.GITHUB_STEP_SUMMARY;
    expect(await writeJobSummary('x')).toBe(false);
  });

  test('annotateFailures: errors for what needs a human, warnings for what a rerun fixes', () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const failures: FailureRecord[] = [
      {
        type: 'suspect',
        caseId: 'case-2025-01-19',
        suspectId: 'suspect-2',
        error: 'prompt blocked:\nSAFETY',
        errorType: 'validation',
        reason: 'prompt_blocked',
        attempts: 1,
        recoverable: false,
      },
      {
        type: 'scene',
        caseId: 'case-2025-01-19',
        error: 'HTTP 503',
        errorType: 'api_error',
        reason: 'http',
        attempts: 3,
        recoverable: true,
      },
    ];
    annotateFailures(failures);
    const lines = out.join('').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^::error title=case-2025-01-19\/suspect-2%3A validation,file=cases\/case-2025-01-19\/case\.json::prompt blocked: SAFETY \(after 1 attempt; /,
    );
    expect(lines[1]).toMatch(
      /^::warning title=case-2025-01-19\/scene%3A api_error,file=cases\/case-2025-01-19\/case\.json::HTTP 503 \(after 3 attempts; recoverable/,
    );
  });
});
