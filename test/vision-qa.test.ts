import { describe, expect, test } from 'vitest';
import { readCase } from '../src/cases/case-store.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import { validateImageQuality } from '../src/cli/validate-image-quality.ts';
import { configSchema } from '../src/config/schema.ts';
import { createPlaceholderProvider } from '../src/providers/placeholder.ts';
import { attachVision, visionFactoryOf, visionPolicy } from '../src/qa/registry.ts';
import { lineupRubric, RUBRIC_VERSION, rubricFor } from '../src/qa/rubric.ts';
import { parseJudgeAnswer } from '../src/qa/verdict.ts';
import { VirtualClock } from '../src/util/clock.ts';
import { caseAll, progressOf, readJson, runAgainstFake, TEST_KEY, testConfig } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { JudgeRecorded } from './support/fake-gemini-judge.ts';
import { useFakeGemini } from './support/fake-world.ts';
import { captureOutput } from './support/output.ts';
import { makeTempRoot } from './support/temp-root.ts';

const CASE = 'case-2025-01-19';
let fake: FakeGemini;
let root: string;
useFakeGemini((world) => {
  ({ fake, root } = world);
});

const isFor = (r: JudgeRecorded, imageId: string) =>
  imageId === 'lineup' ? r.rubric.includes('distinct-people') : r.rubric.includes(`Stage manager`);

async function entry(imageId: string) {
  return (await readManifest(root, CASE)).images[imageId];
}

describe('the rubric', () => {
  test('is built from the case, versioned, and hashed so a case edit changes it', async () => {
    const data = await readCase(root, CASE);
    const r = rubricFor(data, 'suspect-1');
    expect(r.version).toBe(RUBRIC_VERSION);
    expect(r.checks.map((c) => c.name)).toEqual([
      'one-person',
      'age',
      'appearance',
      'clothing',
      'no-text',
      'art-style',
    ]);
    expect(r.text).toContain('about 34 years old');
    expect(r.text).toContain('1940s film noir ink wash');
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    const older = rubricFor(
      { ...data, suspects: data.suspects.map((s) => ({ ...s, age: 70 })) },
      'suspect-1',
    );
    expect(older.hash).not.toBe(r.hash);
    const scene = rubricFor(data, 'scene');
    expect(scene.checks.map((c) => c.name)).toEqual([
      'location',
      'time-of-day',
      'details',
      'clues',
      'no-people',
      'no-text',
      'art-style',
    ]);
    expect(lineupRubric(data, ['suspect-1', 'suspect-2', 'suspect-3']).text).toContain(
      '3 clearly different people',
    );
  });

  test('answers are validated by the schema', () => {
    expect(parseJudgeAnswer('{"pass":true,"score":0.9,"issues":[]}')).toEqual({
      answer: { pass: true, score: 0.9, issues: [] },
    });
    expect(parseJudgeAnswer('{"pass":true,"score":1.7,"issues":[]}')).toMatchObject({
      problem: expect.stringContaining('score'),
    });
    expect(parseJudgeAnswer('not json')).toEqual({ problem: 'the answer is not JSON' });
  });
});

describe('policy flag', () => {
  test('every image and the lineup are judged; a failure is flagged, never blocks', async () => {
    fake.judge.setHandler((r) =>
      isFor(r, 'suspect-2')
        ? { kind: 'fail', score: 0.4, issues: [{ check: 'age', detail: 'looks about 30, not 58' }] }
        : undefined,
    );
    const { summary, lines } = await runAgainstFake(root, fake, { source: caseAll(), vision: 'flag' });
    expect(summary.exitCode).toBe(0);
    expect(summary.successful).toBe(4);
    expect(fake.requests).toHaveLength(4);
    // Four images, then one lineup call with the three portraits.
    expect(fake.judge.requests.map((r) => r.images.length)).toEqual([1, 1, 1, 1, 3]);
    for (const r of fake.judge.requests) {
      expect(r.model).toBe('gemini-3.1-flash-lite');
      expect(r.responseMimeType).toBe('application/json');
      expect(r.responseJsonSchema).toMatchObject({ required: ['pass', 'score', 'issues'] });
      expect(r.images[0]?.mimeType).toBe('image/png');
    }
    const s2 = await entry('suspect-2');
    expect(s2?.vision).toMatchObject({
      status: 'fail',
      score: 0.4,
      issues: [{ check: 'age', detail: 'looks about 30, not 58' }],
      model: 'gemini-3.1-flash-lite',
      rubricVersion: RUBRIC_VERSION,
      calls: 1,
    });
    expect(s2?.vision?.checks).toContain('no-text');
    expect(s2?.vision?.costUsd).toBeGreaterThan(0);
    expect((await entry('suspect-1'))?.vision?.status).toBe('pass');
    expect((await readManifest(root, CASE)).lineup).toMatchObject({
      status: 'pass',
      checks: ['distinct-people', 'same-style'],
    });
    expect(lines.some((l) => l.includes('suspect-2 flagged by vision QA: age: looks about 30, not 58'))).toBe(
      true,
    );

    const report = (await readJson(summary.errorReportFile)) as { metrics: Record<string, unknown> };
    expect(report.metrics).toMatchObject({
      judgeCalls: 5,
      judged: { pass: 3, fail: 1, notJudged: 0 },
      judgePassRate: 0.75,
    });
    expect(report.metrics.judgeCostUsd).toBeGreaterThan(0);
    expect((report as unknown as { recommendations: string[] }).recommendations).toContain(
      '1 image(s) were flagged by vision QA: the reviewer sees why in the pull request (✗ lines); regenerate with feedback if they agree.',
    );
  });

  test('a judge that times out, breaks the schema or keeps failing leaves the image "not judged"', async () => {
    const replies = [
      { kind: 'timeout' as const },
      { kind: 'timeout' as const },
      { kind: 'schema-break' as const },
      { kind: 'status' as const, status: 503 as const },
      { kind: 'status' as const, status: 503 as const },
    ];
    fake.judge.enqueue(...replies);
    const { summary } = await runAgainstFake(root, fake, {
      source: caseAll(),
      vision: 'flag',
      config: { qa: { timeout: 300 } },
    });
    expect(summary.exitCode).toBe(0);
    expect(summary.successful).toBe(4);
    const s1 = await entry('suspect-1');
    expect(s1?.vision).toMatchObject({ status: 'not-judged', calls: 2 });
    expect(s1?.vision?.reason).toMatch(/network.*tim/i);
    expect((await entry('suspect-2'))?.vision).toMatchObject({ status: 'not-judged', calls: 1 });
    expect((await entry('suspect-2'))?.vision?.reason).toContain('out of schema');
    expect((await entry('suspect-3'))?.vision).toMatchObject({ status: 'not-judged', calls: 2 });
    expect((await entry('suspect-3'))?.vision?.reason).toContain('api_error');
    expect((await entry('scene'))?.vision?.status).toBe('pass');
    const progress = await progressOf(root, summary.batchId);
    expect(progress.judge).toMatchObject({ pass: 1, notJudged: 3 });
  });

  test('a judge 429 pauses every request for the server retryDelay, then the judge retries', async () => {
    const plain = new VirtualClock();
    await runAgainstFake(root, fake, { source: caseAll(), vision: 'flag', clock: plain });
    const without = plain.now() - new VirtualClock().now();

    const other = await makeTempRoot();
    fake.judge.enqueue({ kind: 'status', status: 429, retryDelaySec: 7 });
    const clock = new VirtualClock();
    const { summary } = await runAgainstFake(other, fake, { source: caseAll(), vision: 'flag', clock });
    expect(summary.exitCode).toBe(0);
    expect((await readManifest(other, CASE)).images['suspect-1']?.vision).toMatchObject({
      status: 'pass',
      calls: 2,
    });
    // Every later start waited out the 7 s instead of the usual 2 s gap.
    expect(clock.now() - new VirtualClock().now() - without).toBeGreaterThanOrEqual(5000);
  });

  test('judge calls count against the run cost cap', async () => {
    // Four images ($0.0336 each) fit $0.1345 alone; with the judge's calls the fourth would pass it.
    const { summary } = await runAgainstFake(root, fake, {
      source: caseAll(),
      vision: 'flag',
      config: { cost: { maxCost: 0.1345 } },
      explicitMaxCost: true,
    });
    expect(summary.exitCode).toBe(3);
    expect(summary.successful).toBe(3);
    expect(fake.requests).toHaveLength(3);
  });
});

describe('policy regenerate', () => {
  test('redoes a failed image with the judge issues in the prompt, and keeps it when it passes', async () => {
    let failedOnce = false;
    fake.judge.setHandler((r) => {
      if (!isFor(r, 'suspect-2') || failedOnce) return undefined;
      failedOnce = true;
      return { kind: 'fail', score: 0.3, issues: [{ check: 'no-text', detail: 'a name tag reads WALTER' }] };
    });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll(), vision: 'regenerate' });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(5);
    const repairPrompt = fake.requests[2]?.prompt ?? '';
    expect(repairPrompt).toContain(fake.requests[1]?.prompt);
    expect(repairPrompt).toContain('no-text: a name tag reads WALTER');
    const s2 = await entry('suspect-2');
    expect(s2?.vision).toMatchObject({ status: 'pass', repairs: 1, calls: 2 });
    expect(s2?.attempts).toBe(2);
    const progress = await progressOf(root, summary.batchId);
    expect(progress.judge?.repairs).toBe(1);
  });

  test('the repair budget holds (1 per image, 10% of the run rounded up) and the best-scoring image is kept, flagged', async () => {
    let n = 0;
    // Every image fails; the repaired one scores worse than the first.
    fake.judge.setHandler((r) =>
      isFor(r, 'lineup')
        ? undefined
        : {
            kind: 'fail',
            score: ++n === 2 ? 0.2 : 0.5,
            issues: [{ check: 'one-person', detail: 'two faces' }],
          },
    );
    const { summary } = await runAgainstFake(root, fake, { source: caseAll(), vision: 'regenerate' });
    expect(summary.exitCode).toBe(0);
    // 4 images + 1 repair: ceil(10% of 4) = 1 for the whole run.
    expect(fake.requests).toHaveLength(5);
    const first = await entry('suspect-1');
    expect(first?.vision).toMatchObject({ status: 'fail', score: 0.5, repairs: 1, calls: 2 });
    // The kept file is the first attempt's: the repair scored lower.
    const firstPrompt = fake.requests[0]?.prompt ?? '';
    expect(fake.requests[1]?.prompt.startsWith(firstPrompt)).toBe(true);
    expect((await entry('suspect-2'))?.vision).toMatchObject({ status: 'fail', calls: 1 });
    expect((await entry('suspect-2'))?.vision?.repairs).toBeUndefined();
  });
});

describe('validate-image-quality --case-id', () => {
  test('judges the images on disk that pass the pixel checks and records the verdicts', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    fake.judge.setHandler((r) =>
      r.rubric.includes('crime-scene picture')
        ? { kind: 'fail', issues: [{ check: 'no-text', detail: 'a poster on the wall has lettering' }] }
        : undefined,
    );
    const out = captureOutput();
    const config = testConfig({ apiBaseUrl: fake.url });
    expect(await validateImageQuality(root, { caseId: CASE }, out, { apiKey: TEST_KEY, config })).toBe(0);
    expect(fake.judge.requests).toHaveLength(5);
    const text = out.lines.join('\n');
    expect(text).toMatch(/scene\s+fail\s+0\.35\s+no-text: a poster on the wall has lettering/);
    expect(text).toMatch(/lineup\s+pass/);
    expect((await entry('scene'))?.vision?.status).toBe('fail');
    expect((await entry('suspect-1'))?.vision?.status).toBe('pass');
  });

  test('offline the check is skipped with a note', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    const out = captureOutput();
    expect(await validateImageQuality(root, { caseId: CASE }, out, {})).toBe(0);
    expect(out.lines.join('\n')).toContain('Vision QA skipped: qa.vision is off');
    const flagged = captureOutput();
    const config = configSchema.parse({ qa: { vision: 'flag' } });
    expect(await validateImageQuality(root, { caseId: CASE }, flagged, { config })).toBe(0);
    expect(flagged.lines.join('\n')).toContain('Vision QA skipped: offline (GEMINI_API_KEY is not set)');
    expect(fake.judge.requests).toHaveLength(0);
  });
});

describe('turning it on and off', () => {
  test('flag by default with a key, off without one or when set off; placeholders are never judged', () => {
    const config = configSchema.parse({});
    expect(visionPolicy(config, 'key')).toBe('flag');
    expect(visionPolicy(config, undefined)).toBe('off');
    expect(visionPolicy(configSchema.parse({ qa: { vision: 'off' } }), 'key')).toBe('off');
    const placeholder = createPlaceholderProvider();
    attachVision(placeholder, configSchema.parse({ qa: { vision: 'flag' } }), 'key');
    expect(visionFactoryOf(placeholder)).toBeUndefined();
  });

  test('a run without the judge writes no verdict', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    expect(fake.judge.requests).toHaveLength(0);
    expect((await entry('suspect-1'))?.vision).toBeUndefined();
    expect((await readManifest(root, CASE)).lineup).toBeUndefined();
  });
});
