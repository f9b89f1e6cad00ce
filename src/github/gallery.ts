import type { VisionVerdict } from '../cases/provenance.ts';
import type { Case, Manifest } from '../cases/schema.ts';
import type { ProviderName } from '../providers/types.ts';
import { checklistLine, countsLine, countVerdicts } from '../qa/display.ts';

type ReviewStatus = 'pending' | 'approved' | 'changes-requested';

export interface GalleryImage {
  caseId: string;
  /** `suspect-N` or `scene`. */
  imageId: string;
  /** The suspect's name, or "Crime scene". */
  name: string;
  /** Repository-relative path, e.g. `cases/case-2025-01-19/images/suspect-1.png`. */
  file: string;
  prompt: string;
  model: string;
  provider: ProviderName;
  costUsd: number;
  mode: 'sync' | 'batch';
  /** Names of failed automated quality checks; empty when clean. */
  quality: string[];
  review: ReviewStatus;
  /** Reviewer feedback that produced this version, if any. */
  feedback?: string | null;
  /** Tokens × published prices, when the reply reported usage (costUsd is the estimate). */
  actualCostUsd?: number | undefined;
  /** The vision judge's verdict, when it ran. */
  vision?: VisionVerdict | undefined;
  /** Suspects only: the case's "clearly different people" verdict. */
  lineup?: VisionVerdict | undefined;
}

export interface GalleryFailure {
  caseId: string;
  imageId: string;
  error: string;
  errorType?: string;
}

export interface GalleryOptions {
  owner: string;
  repo: string;
  /**
   * The commit on the PR branch the images are shown from; pinning it keeps the body true after
   * later pushes. Empty in a job summary of a run that pushed nothing: the images are on no branch,
   * so the table shows no picture rather than a link to HEAD of the default branch, where they are not.
   */
  sha: string;
  images: GalleryImage[];
  /** Defaults to GITHUB_SERVER_URL, then https://github.com. */
  serverUrl?: string;
  batchId?: string;
  failures?: GalleryFailure[];
}

/** Marks the body so tooling can tell a lineup PR from a hand-written one. */
export const GALLERY_MARKER = '<!-- lineup:gallery -->';

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Makes untrusted text (case data, prompts, error messages) inert inside a markdown table cell:
 * one line, no HTML, no pipes that split cells, no markdown syntax, no @mentions that ping people.
 */
export function escapeCell(text: string): string {
  return (
    text
      // Control characters and line breaks would end the table row.
      .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c)
      .replace(/[\\`*_[\]|~!#()]/g, (c) => `\\${c}`)
      .replace(/@/g, '&#64;')
  );
}

/**
 * Escaping for text inside HTML (`<summary>`, attributes), where markdown backslash escapes would
 * show literally. Pipes become entities because a table row is split on them before HTML is parsed.
 */
function escapeHtmlText(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c)
    .replace(/\|/g, '&#124;')
    .replace(/@/g, '&#64;');
}

/**
 * Raw-file URL of `path` at `sha`; each segment is encoded so a path can never break out of the URL.
 *
 * Why `github.com/OWNER/REPO/blob/SHA/path?raw=true` and not raw.githubusercontent.com: in a private
 * repository GitHub serves this URL to the signed-in viewer's session and redirects it to a raw URL
 * with a fresh token of that viewer, so the picture shows for every member and for nobody else
 * (pingdotgg/t3code#6600 shows this form in private-repository PR comments; #11706 there: such
 * files answer 404 only to a browser without the viewer's GitHub session). A raw.githubusercontent.com
 * URL of a private file works only with the `?token=` GitHub appends for one user, and that token
 * expires (rgrove/rawgit#62, lukehorvat/github-ast-viewer#2, jennybc/happy-git-with-r#38): written
 * into a PR body it would break for everyone after a while and hand one person's token to all.
 * Pinned to the commit, not a branch: the default branch does not hold the images.
 */
export function rawImageUrl(options: {
  serverUrl?: string;
  owner: string;
  repo: string;
  sha: string;
  path: string;
}): string {
  const server = (options.serverUrl ?? process.env.GITHUB_SERVER_URL ?? 'https://github.com').replace(
    /\/+$/,
    '',
  );
  const path = options.path.split('/').map(encodeURIComponent).join('/');
  return `${server}/${encodeURIComponent(options.owner)}/${encodeURIComponent(options.repo)}/blob/${encodeURIComponent(options.sha)}/${path}?raw=true`;
}

export function formatUsd(value: number): string {
  const fixed = value.toFixed(4).replace(/0{1,2}$/, '');
  return `$${fixed}`;
}

function flagsOf(image: GalleryImage): string[] {
  const flags: string[] = [];
  if (image.provider === 'placeholder') flags.push('⚠️ placeholder');
  for (const q of image.quality) flags.push(`⚠️ ${q}`);
  if (image.vision) flags.push(checklistLine(image.vision));
  if (image.lineup && image.lineup.status !== 'pass') flags.push(checklistLine(image.lineup, 'lineup'));
  return flags;
}

const REVIEW_LABEL: Record<ReviewStatus, string> = {
  pending: '⏳ pending',
  approved: '✅ approved',
  'changes-requested': '🔁 changes requested',
};

function totalCost(images: GalleryImage[]): number {
  return images.reduce((sum, i) => sum + i.costUsd, 0);
}

/** The estimate, with what the reply's tokens actually cost beside it when known. */
function costCell(image: GalleryImage): string {
  const estimate = formatUsd(image.costUsd);
  return image.actualCostUsd === undefined
    ? estimate
    : `${estimate} (actual ${formatUsd(image.actualCostUsd)})`;
}

function imageTag(url: string, alt: string, width: number): string {
  // The URL is built from encoded parts and the alt text is entity-escaped, so neither can close the tag.
  return `<img src="${url.replace(/"/g, '%22')}" alt="${escapeHtmlText(alt)}" width="${width}">`;
}

/**
 * The table shared by the PR body and the job summary: one row per image with a thumbnail, who or
 * what it shows, how it was made, what it cost, its quality flags and its review state.
 */
export function buildGalleryTable(options: GalleryOptions): string {
  const rows = options.images.map((image) => {
    const flags = flagsOf(image);
    return [
      options.sha
        ? imageTag(rawImageUrl({ ...options, path: image.file }), `${image.caseId} ${image.imageId}`, 160)
        : '_not committed_',
      escapeCell(image.caseId),
      escapeCell(image.imageId),
      escapeCell(image.name),
      `${escapeCell(image.model)} (${image.mode})`,
      costCell(image),
      flags.length ? flags.map(escapeCell).join('<br>') : 'ok',
      REVIEW_LABEL[image.review],
    ].join(' | ');
  });
  const lines = [
    '| Image | Case | Id | Shows | Model | Cost | Flags | Review |',
    '|---|---|---|---|---|---:|---|---|',
    ...rows.map((r) => `| ${r} |`),
    `| | | | | **Total** | **${formatUsd(totalCost(options.images))}** | | |`,
  ];
  return lines.join('\n');
}

function failuresSection(failures: GalleryFailure[]): string[] {
  if (failures.length === 0) return [];
  return [
    '### Not generated',
    '',
    '| Case | Id | Error | Class |',
    '|---|---|---|---|',
    ...failures.map(
      (f) =>
        `| ${escapeCell(f.caseId)} | ${escapeCell(f.imageId)} | ${escapeCell(f.error)} | ${escapeCell(f.errorType ?? '')} |`,
    ),
    '',
  ];
}

function promptsSection(options: GalleryOptions): string[] {
  const out: string[] = ['### Prompts', ''];
  for (const image of options.images) {
    const title = escapeHtmlText(`${image.caseId} / ${image.imageId}: ${image.name}`);
    out.push('<details>', `<summary>${title}</summary>`, '');
    out.push(escapeCell(image.prompt));
    if (image.feedback) out.push('', `Reviewer feedback: ${escapeCell(image.feedback)}`);
    out.push('', '</details>', '');
  }
  return out;
}

/** Review instructions, with an example aimed at an image that is actually in this PR. */
function howToReview(images: GalleryImage[]): string {
  const example = images.find((i) => i.imageId.startsWith('suspect-')) ?? images[0];
  const exampleId = example?.imageId ?? 'suspect-2';
  const exampleFile = example?.file ?? 'cases/<case-id>/images/suspect-2.png';
  const multiCase = new Set(images.map((i) => i.caseId)).size > 1;
  const lines = [
    '### How to review',
    '',
    '- **Approve this pull request** to approve every image in it. The approval is recorded in each',
    "  case's `images/manifest.json` (reviewer, time, PR number) and pushed to this branch; then merge.",
    `- **Request changes on one image**: in *Files changed*, comment on the image file (e.g. \`${exampleFile}\`)`,
    '  saying what to change, then submit the review as *Request changes*. Only the commented images are',
    '  regenerated, with your comment added to their prompt, and pushed here.',
    `- **Or comment** \`/regenerate ${exampleId} make the hat red\` on this pull request (one command per line).`,
  ];
  if (multiCase) {
    lines.push(
      `  This PR spans several cases: name the case too, e.g. \`/regenerate ${example?.caseId ?? '<case-id>'}/${exampleId} …\`.`,
    );
  }
  lines.push(
    '- Only people with write access to the repository are obeyed.',
    '- Images flagged ⚠️ *placeholder* are offline stand-ins, not real pictures: they stay pending until generated.',
  );
  return lines.join('\n');
}

/** The pull request body: summary line, gallery table, failures, prompts, and how to review. */
export function buildPullRequestBody(options: GalleryOptions): string {
  const cases = [...new Set(options.images.map((i) => i.caseId))];
  const placeholders = options.images.filter((i) => i.provider === 'placeholder').length;
  const failures = options.failures ?? [];
  const head = [
    GALLERY_MARKER,
    `## ${options.images.length} image${options.images.length === 1 ? '' : 's'} for review`,
    '',
    [
      cases.length ? `Cases: ${cases.map(escapeCell).join(', ')}.` : '',
      options.batchId ? `Batch ${escapeCell(options.batchId)}.` : '',
      `Total cost ${formatUsd(totalCost(options.images))}.`,
      `Shown at commit ${escapeCell(options.sha.slice(0, 12))}.`,
    ]
      .filter(Boolean)
      .join(' '),
    '',
  ];
  if (placeholders > 0) {
    head.push(
      placeholders === 1
        ? '> [!WARNING]\n> 1 image is a placeholder from the offline provider, not a generated picture.'
        : `> [!WARNING]\n> ${placeholders} images are placeholders from the offline provider, not generated pictures.`,
      '',
    );
  }
  return [
    ...head,
    buildGalleryTable(options),
    '',
    ...failuresSection(failures),
    ...promptsSection(options),
    howToReview(options.images),
    '',
  ].join('\n');
}

/** The job summary: the same table, plus failures. */
export function buildSummaryMarkdown(options: GalleryOptions & { title?: string }): string {
  return [
    `## ${escapeCell(options.title ?? 'lineup images')}`,
    '',
    options.images.length ? buildGalleryTable(options) : '_No images generated._',
    '',
    ...visionSummary(options.images),
    ...failuresSection(options.failures ?? []),
  ].join('\n');
}

/** The job summary's count of verdicts, when the judge ran. */
function visionSummary(images: GalleryImage[]): string[] {
  const counts = countVerdicts(images.map((i) => i.vision));
  return counts ? [escapeCell(countsLine(counts)), ''] : [];
}

/**
 * Gallery rows for the images of one case, from its manifest and case data. `promptFor` comes from
 * the prompts module so the PR shows exactly what was sent; `only` limits rows to this run's images.
 */
export function galleryImagesFromManifest(
  caseData: Case,
  manifest: Manifest,
  promptFor: (imageId: string) => string,
  only?: readonly string[],
): GalleryImage[] {
  const names = new Map(caseData.suspects.map((s) => [s.id, s.name]));
  const ids = Object.keys(manifest.images)
    .filter((id) => !only || only.includes(id))
    .sort((a, b) => imageOrder(a) - imageOrder(b));
  return ids.map((imageId) => {
    const entry = manifest.images[imageId];
    if (!entry) throw new Error(`unreachable: ${imageId} vanished from the manifest`);
    return {
      caseId: manifest.caseId,
      imageId,
      name: imageId === 'scene' ? 'Crime scene' : (names.get(imageId) ?? imageId),
      file: `cases/${manifest.caseId}/images/${entry.file}`,
      prompt: promptFor(imageId),
      model: entry.model,
      provider: entry.provider,
      costUsd: entry.costUsd,
      mode: entry.mode,
      quality: entry.quality,
      review: entry.review.status,
      feedback: entry.review.feedback,
      ...(entry.provenance?.actualCostUsd !== undefined
        ? { actualCostUsd: entry.provenance.actualCostUsd }
        : {}),
      ...(entry.vision ? { vision: entry.vision } : {}),
      ...(manifest.lineup && imageId !== 'scene' ? { lineup: manifest.lineup } : {}),
    };
  });
}

/** Suspects in numeric order, then the scene, as a player meets them. */
function imageOrder(imageId: string): number {
  return imageId === 'scene' ? 1000 : Number(imageId.slice('suspect-'.length));
}
