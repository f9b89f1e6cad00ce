import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readCase } from '../cases/case-store.ts';
import { readManifest } from '../cases/manifest-store.ts';
import { EXTENSION_FOR_MIME, imagesDir } from '../cases/paths.ts';
import type { VisionVerdict } from '../cases/provenance.ts';
import type { Case, ManifestEntry, Review } from '../cases/schema.ts';
import { type ImageFormat, verifyImage } from '../images/inspect.ts';
import { buildPrompt } from '../prompts/index.ts';
import { isPlaceholderPng } from '../providers/placeholder.ts';
import { errorMessage } from '../util/error-message.ts';

type PreviewStatus = 'ok' | 'missing' | 'unreadable';

export interface PreviewImage {
  imageId: string;
  kind: 'suspect' | 'scene';
  /** The suspect's name, or "Crime scene". */
  label: string;
  /** Occupation and age of a suspect, location of the scene. */
  detail?: string;
  status: PreviewStatus;
  /** Why an image that exists cannot be shown. */
  reason?: string;
  /** Relative to the root, with forward slashes. */
  file?: string;
  /** Set only when status is ok: the bytes as a data: URI with the sniffed (not the claimed) type. */
  dataUri?: string;
  mimeType?: ImageFormat;
  width?: number;
  height?: number;
  bytes?: number;
  prompt?: string;
  /** The prompt could not be built (e.g. too long); the message says which field. */
  promptError?: string;
  provider?: string;
  model?: string;
  generatedAt?: string;
  batchId?: string;
  review?: Review;
  /** Failed quality checks from the manifest. */
  quality: string[];
  /** The vision judge's verdict from the manifest, when it ran. */
  vision?: VisionVerdict | undefined;
  placeholder: boolean;
  /** The manifest's promptHash differs from today's prompt: the case or template changed since. */
  stale: boolean;
  /** The file's sha256 differs from the manifest's: it was replaced by hand. */
  modified: boolean;
}

export interface CasePreview {
  data: Case;
  images: PreviewImage[];
  /** The vision judge's "clearly different people" verdict for the suspects. */
  lineup?: VisionVerdict;
}

function toPosix(path: string): string {
  return path.split('\\').join('/');
}

async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw error;
  }
}

/** The manifest's file first, then any extension the image could have been saved with. */
async function findImage(
  root: string,
  caseId: string,
  imageId: string,
  entry: ManifestEntry | undefined,
): Promise<{ path: string; bytes: Uint8Array } | undefined> {
  const dir = imagesDir(root, caseId);
  const names = [
    ...(entry ? [entry.file] : []),
    ...Object.values(EXTENSION_FOR_MIME).map((ext) => `${imageId}.${ext}`),
  ];
  for (const name of new Set(names)) {
    const path = join(dir, name);
    const bytes = await readIfPresent(path);
    if (bytes) return { path, bytes };
  }
  return undefined;
}

/** Everything the contact sheet shows about a case, read from case.json, the manifest and the files. */
export async function collectPreview(root: string, caseId: string): Promise<CasePreview> {
  const data = await readCase(root, caseId);
  const manifest = await readManifest(root, caseId);
  const wanted: Array<Pick<PreviewImage, 'imageId' | 'kind' | 'label'> & { detail?: string }> = [
    ...data.suspects.map((s) => {
      const detail = [s.occupation, s.age !== undefined ? `age ${s.age}` : undefined]
        .filter(Boolean)
        .join(', ');
      return { imageId: s.id, kind: 'suspect' as const, label: s.name, ...(detail ? { detail } : {}) };
    }),
    {
      imageId: 'scene',
      kind: 'scene' as const,
      label: 'Crime scene',
      ...(data.scene.location ? { detail: data.scene.location } : {}),
    },
  ];

  const images = await Promise.all(
    wanted.map(async (w): Promise<PreviewImage> => {
      const entry = manifest.images[w.imageId];
      const image: PreviewImage = {
        ...w,
        status: 'missing',
        quality: entry?.quality ?? [],
        ...(entry?.vision ? { vision: entry.vision } : {}),
        placeholder: entry?.provider === 'placeholder',
        stale: false,
        modified: false,
      };
      if (entry) {
        image.provider = entry.provider;
        image.model = entry.model;
        image.generatedAt = entry.generatedAt;
        image.batchId = entry.batchId;
        image.review = entry.review;
      }
      try {
        const built = buildPrompt(
          data,
          w.imageId,
          entry?.review.feedback ? { feedback: entry.review.feedback } : {},
        );
        image.prompt = built.prompt;
        image.stale = entry !== undefined && entry.promptHash !== built.promptHash;
      } catch (error) {
        image.promptError = errorMessage(error);
      }

      const found = await findImage(root, caseId, w.imageId, entry);
      if (!found) return image;
      image.file = toPosix(relative(root, found.path));
      image.bytes = found.bytes.length;
      if (found.bytes.length === 0) {
        image.status = 'unreadable';
        image.reason = 'the file is empty';
        return image;
      }
      const checked = verifyImage(found.bytes);
      if (!checked.ok) {
        image.status = 'unreadable';
        image.reason = checked.reason;
        return image;
      }
      image.status = 'ok';
      image.mimeType = checked.header.mimeType;
      image.width = checked.header.width;
      image.height = checked.header.height;
      image.dataUri = `data:${checked.header.mimeType};base64,${Buffer.from(found.bytes).toString('base64')}`;
      image.placeholder = image.placeholder || isPlaceholderPng(found.bytes);
      if (entry) {
        image.modified = createHash('sha256').update(found.bytes).digest('hex') !== entry.sha256;
      }
      return image;
    }),
  );
  return { data, images, ...(manifest.lineup ? { lineup: manifest.lineup } : {}) };
}
