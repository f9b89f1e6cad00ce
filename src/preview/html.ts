import { checklistLine } from '../qa/display.ts';
import type { CasePreview, PreviewImage } from './collect.ts';

/** Case data is untrusted: every text that reaches the page goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"'`]/g,
    (ch) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39', '`': '#96' }[ch]};`,
  );
}

const e = escapeHtml;

/*
 * The page runs no script and may load nothing but its own inline styles and data: images, so even
 * a case.json crafted to break out of the escaping could not fetch or run anything.
 */
const CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, sans-serif; background: #f4f1ec; color: #222; }
header { margin-bottom: 20px; }
h1 { margin: 0 0 4px; font-size: 24px; }
.meta { color: #555; margin: 2px 0; }
.summary { max-width: 72ch; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; padding: 0; list-style: none; }
.counts li { background: #fff; border: 1px solid #ddd; border-radius: 12px; padding: 2px 10px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; overflow: hidden; display: flex; flex-direction: column; }
.card.scene { grid-column: 1 / -1; max-width: 960px; }
.frame { background: #222; display: flex; align-items: center; justify-content: center; min-height: 200px; }
.frame img { display: block; max-width: 100%; height: auto; }
.missing .frame, .unreadable .frame { background: repeating-linear-gradient(45deg, #eee, #eee 10px, #e2e2e2 10px, #e2e2e2 20px); color: #b00020; font-weight: 600; text-align: center; padding: 16px; }
.body { padding: 12px 14px; }
h2 { margin: 0; font-size: 17px; }
.detail { color: #555; margin: 0 0 8px; }
.tags { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; padding: 0; list-style: none; }
.tag { border-radius: 10px; padding: 1px 8px; font-size: 12px; border: 1px solid transparent; }
.tag.approved { background: #e6f4ea; color: #1e6b34; }
.tag.pending { background: #fff4e0; color: #8a5300; }
.tag.changes-requested, .tag.bad { background: #fde7e9; color: #a50e1e; }
.tag.info { background: #eef1f6; color: #334; }
.tag.placeholder { background: #fff; color: #8a5300; border-color: #e0a040; border-style: dashed; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 8px 0; font-size: 12px; }
dt { color: #666; }
dd { margin: 0; overflow-wrap: anywhere; }
details { margin-top: 6px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f7f7f7; border: 1px solid #eee; padding: 8px; font-size: 12px; margin: 6px 0 0; }
footer { margin-top: 24px; color: #777; font-size: 12px; }
`;

function tag(text: string, cls: string): string {
  return `<li class="tag ${cls}">${e(text)}</li>`;
}

function tags(image: PreviewImage): string {
  const out: string[] = [];
  if (image.status === 'missing') out.push(tag('missing', 'bad'));
  if (image.status === 'unreadable') out.push(tag('unreadable', 'bad'));
  if (image.placeholder) out.push(tag('placeholder', 'placeholder'));
  if (image.review) out.push(tag(`review: ${image.review.status}`, image.review.status));
  else if (image.status !== 'missing') out.push(tag('not in manifest', 'info'));
  if (image.stale) out.push(tag('stale prompt', 'bad'));
  if (image.modified) out.push(tag('changed since generation', 'bad'));
  for (const q of image.quality) out.push(tag(`quality: ${q}`, 'bad'));
  if (image.vision)
    out.push(tag(checklistLine(image.vision), image.vision.status === 'pass' ? 'info' : 'bad'));
  return out.length ? `<ul class="tags">${out.join('')}</ul>` : '';
}

function row(label: string, value: string | number | null | undefined): string {
  if (value === undefined || value === null || value === '') return '';
  return `<dt>${e(label)}</dt><dd>${e(String(value))}</dd>`;
}

function frame(image: PreviewImage): string {
  if (image.status === 'ok' && image.dataUri) {
    const alt = image.kind === 'scene' ? 'Crime scene' : `Portrait of ${image.label}`;
    // The URI is base64 over a sniffed image type, but it is escaped like any other attribute anyway.
    return `<div class="frame"><img src="${e(image.dataUri)}" alt="${e(alt)}" width="${image.width}" height="${image.height}"></div>`;
  }
  const text =
    image.status === 'missing'
      ? 'Image missing'
      : `Image unreadable${image.reason ? `: ${image.reason}` : ''}`;
  return `<div class="frame" role="img" aria-label="${e(text)}">${e(text)}</div>`;
}

function card(image: PreviewImage): string {
  const review = image.review;
  const size = image.width && image.height ? `${image.width}×${image.height}` : undefined;
  const fileInfo =
    image.file && image.bytes !== undefined
      ? `${image.file} (${image.bytes.toLocaleString('en-US')} bytes${size ? `, ${size}` : ''})`
      : image.file;
  const meta = [
    row('file', fileInfo ?? `not found (expected ${image.imageId}.png)`),
    row('provider', image.provider && image.model ? `${image.provider} / ${image.model}` : image.provider),
    row('generated', image.generatedAt),
    row('batch', image.batchId),
    row('reviewed by', review?.by),
    row('reviewed at', review?.at),
    row('pull request', review?.pullRequest ? `#${review.pullRequest}` : undefined),
    row('feedback', review?.feedback),
  ].join('');
  const prompt = image.prompt
    ? `<details><summary>Prompt</summary><pre>${e(image.prompt)}</pre></details>`
    : `<p class="detail">Prompt cannot be built: ${e(image.promptError ?? 'unknown error')}</p>`;
  return [
    `<article class="card ${image.kind} ${image.status}" id="${e(image.imageId)}" data-image-id="${e(image.imageId)}" data-status="${image.status}">`,
    frame(image),
    '<div class="body">',
    `<h2>${e(image.label)}</h2>`,
    `<p class="detail">${e([image.imageId, image.detail].filter(Boolean).join(' · '))}</p>`,
    tags(image),
    `<dl>${meta}</dl>`,
    prompt,
    '</div>',
    '</article>',
  ].join('\n');
}

function counts(images: readonly PreviewImage[]): string {
  const n = (f: (i: PreviewImage) => boolean) => images.filter(f).length;
  const items: Array<[string, number]> = [
    ['images', images.length],
    ['present', n((i) => i.status === 'ok')],
    ['missing', n((i) => i.status === 'missing')],
    ['unreadable', n((i) => i.status === 'unreadable')],
    ['placeholders', n((i) => i.placeholder)],
    ['approved', n((i) => i.review?.status === 'approved')],
    ['awaiting review', n((i) => i.review?.status === 'pending')],
    ['changes requested', n((i) => i.review?.status === 'changes-requested')],
    ['quality flags', n((i) => i.quality.length > 0)],
    ['vision passed', n((i) => i.vision?.status === 'pass')],
    ['vision flagged', n((i) => i.vision?.status === 'fail')],
    ['not judged', n((i) => i.vision?.status === 'not-judged')],
    ['stale', n((i) => i.stale)],
  ];
  return `<ul class="counts">${items
    .filter(([label, count]) => count > 0 || label === 'images' || label === 'missing')
    .map(([label, count]) => `<li>${count} ${e(label)}</li>`)
    .join('')}</ul>`;
}

/** A self-contained page: inline CSS, images as data: URIs, no script, no external reference. */
export function renderPreviewHtml(preview: CasePreview, options: { generatedAt?: string } = {}): string {
  const c = preview.data;
  const when = options.generatedAt ?? new Date().toISOString();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`${c.title} (${c.id})`)} · lineup preview</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(c.title)}</h1>
<p class="meta">${e(c.id)} · ${e(c.date)}</p>
${c.artStyle ? `<p class="meta">Art style: ${e(c.artStyle)}</p>` : ''}
${c.summary ? `<p class="summary">${e(c.summary)}</p>` : ''}
${counts(preview.images)}
${preview.lineup ? `<p class="meta">${e(checklistLine(preview.lineup, 'Suspects (lineup)'))}</p>` : ''}
</header>
<main class="grid">
${preview.images.map(card).join('\n')}
</main>
<footer>Generated by lineup scripts/preview-images.ts at ${e(when)}.</footer>
</body>
</html>
`;
}
