import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { VisionVerdict } from '../src/cases/provenance.ts';
import { buildPullRequestBody, buildSummaryMarkdown, type GalleryImage } from '../src/github/gallery.ts';
import { annotateVerdicts } from '../src/github/summary.ts';
import { collectPreview } from '../src/preview/collect.ts';
import { renderPreviewHtml } from '../src/preview/html.ts';
import { checklistLine } from '../src/qa/display.ts';
import { caseAll, runAgainstFake } from './support/engine.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { galleryImage } from './support/gallery-image.ts';
import { makeTempRoot } from './support/temp-root.ts';

const FAILED: VisionVerdict = {
  status: 'fail',
  score: 0.4,
  checks: ['one-person', 'age', 'no-text'],
  issues: [{ check: 'age', detail: 'looks about 30, not 58' }],
  calls: 1,
  costUsd: 0.0004,
};
const PASSED: VisionVerdict = { ...FAILED, status: 'pass', score: 0.9, issues: [] };
const NOT_JUDGED: VisionVerdict = {
  ...FAILED,
  status: 'not-judged',
  issues: [],
  reason: 'network: timed out',
};

/** A gallery entry named for its image, with `vision`'s verdict when given. */
function image(imageId: string, vision?: VisionVerdict): GalleryImage {
  return galleryImage({
    imageId,
    name: imageId,
    file: `cases/case-2025-01-19/images/${imageId}.png`,
    prompt: 'p',
    ...(vision ? { vision } : {}),
  });
}

const gallery = (images: GalleryImage[]) => ({ owner: 'acme', repo: 'game', sha: 'a'.repeat(40), images });

describe('where people see the verdicts', () => {
  test('a checklist line: ✓ per check that holds, ✗ with the judge words for failures', () => {
    expect(checklistLine(FAILED)).toBe(
      'vision ✗ 0.40: ✓ one-person ✗ age (looks about 30, not 58) ✓ no-text',
    );
    expect(checklistLine(PASSED)).toBe('vision ✓ 0.90: ✓ one-person ✓ age ✓ no-text');
    expect(checklistLine(NOT_JUDGED)).toBe('vision: not judged (network: timed out)');
  });

  test('the PR gallery shows it under each image, the job summary counts them', () => {
    const images = [image('suspect-1', PASSED), image('suspect-2', FAILED), image('scene', NOT_JUDGED)];
    const body = buildPullRequestBody(gallery(images));
    expect(body).toContain('vision ✗ 0.40: ✓ one-person ✗ age \\(looks about 30, not 58\\) ✓ no-text');
    expect(body).toContain('vision ✓ 0.90');
    // Approval stays the reviewer's: the how-to-review section is unchanged by a flag.
    expect(body).toContain('**Approve this pull request** to approve every image in it.');
    const summary = buildSummaryMarkdown(gallery(images));
    expect(summary).toContain('Vision QA: 1 passed, 1 flagged, 1 not judged.');
    expect(buildSummaryMarkdown(gallery([image('suspect-1')]))).not.toContain('Vision QA');
  });

  describe('annotations', () => {
    let out: string[];
    beforeEach(() => {
      out = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });

    test('a failing verdict of this run is a warning on the image file', () => {
      const images = [image('suspect-1', PASSED), image('suspect-2', FAILED), image('suspect-3', FAILED)];
      annotateVerdicts(images, [
        { caseId: 'case-2025-01-19', imageId: 'suspect-1' },
        { caseId: 'case-2025-01-19', imageId: 'suspect-2' },
      ]);
      const text = out.join('');
      expect(text).toContain(
        '::warning title=case-2025-01-19/suspect-2%3A flagged by vision QA,file=cases/case-2025-01-19/images/suspect-2.png::vision ✗ 0.40',
      );
      // suspect-3 was flagged by an earlier run: not annotated again.
      expect(text).not.toContain('suspect-3');
      expect(out).toHaveLength(1);
    });
  });

  test('the preview page shows each verdict, the counts and the lineup', async () => {
    const fake: FakeGemini = await startFakeGemini();
    try {
      const root = await makeTempRoot();
      fake.judge.setHandler((r) =>
        r.rubric.includes('distinct-people')
          ? {
              kind: 'fail',
              issues: [{ check: 'distinct-people', detail: 'suspect-1 and suspect-3 look like sisters' }],
            }
          : undefined,
      );
      await runAgainstFake(root, fake, { source: caseAll(), vision: 'flag' });
      const html = renderPreviewHtml(await collectPreview(root, 'case-2025-01-19'));
      expect(html).toContain('vision ✓ 0.92: ✓ one-person');
      expect(html).toContain('<li>4 vision passed</li>');
      expect(html).toContain(
        'Suspects (lineup) ✗ 0.35: ✗ distinct-people (suspect-1 and suspect-3 look like sisters)',
      );
    } finally {
      await fake.close();
    }
  });
});
