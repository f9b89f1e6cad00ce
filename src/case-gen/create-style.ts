import { access } from 'node:fs/promises';
import { readCase } from '../cases/case-store.ts';
import type { Config } from '../config/schema.ts';
import { InputError } from '../errors.ts';
import { DEFAULT_ART_STYLE } from '../prompts/templates.ts';
import { createGeminiProvider } from '../providers/gemini.ts';
import type { ImageProvider } from '../providers/types.ts';
import { caseStylePath, sharedStylePath } from '../styles/style-sheet.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { displayPath } from '../util/read-json.ts';

/** A style study with nothing a suspect or a scene could copy by mistake: no people, no text. */
function styleSheetPrompt(artStyle: string): string {
  return [
    'A style sheet for an illustrated detective game, to be copied by every picture of one case.',
    `Art style: ${artStyle.replace(/[\s.]+$/, '')}.`,
    'Show a small still life (a desk lamp, a teacup, an open notebook, a coat on a hook) lit as the style would light it,',
    'and beneath it a strip of six flat swatches of the palette.',
    'No people, no faces, no figures. Do not include any text, lettering, numbers, signatures or watermarks.',
  ].join(' ');
}

export class StyleSheetError extends Error {
  override name = 'StyleSheetError';
}

export interface CreateStyleOptions {
  root: string;
  caseId: string;
  config: Config;
  apiKey?: string | undefined;
  /** Write the shared `styles/<art-style>.png` instead of the case's own `style.png`. */
  shared?: boolean;
  force?: boolean;
  /** Tests and callers with a provider of their own. */
  provider?: ImageProvider;
}

/**
 * Generates a case's style sheet with the image model and writes it atomically. Needs a key: an
 * offline stand-in would be sent as the reference of real generations and steer them wrong.
 */
export async function createStyleSheet(o: CreateStyleOptions): Promise<{ file: string; replaced: boolean }> {
  const data = await readCase(o.root, o.caseId);
  const artStyle = data.artStyle ?? DEFAULT_ART_STYLE;
  if (o.shared && !data.artStyle) {
    throw new InputError('--shared needs the case to set artStyle (the shared sheet is named by it)', {
      field: 'artStyle',
    });
  }
  const path = o.shared ? sharedStylePath(o.root, artStyle) : caseStylePath(o.root, o.caseId);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists && !o.force) {
    throw new InputError(
      `${displayPath(path)} exists; pass --force to replace it (every image of the case becomes stale)`,
      {
        field: '--force',
      },
    );
  }
  const provider =
    o.provider ??
    (o.apiKey
      ? createGeminiProvider({
          apiKey: o.apiKey,
          model: o.config.model,
          apiVersion: o.config.apiVersion,
          baseUrl: o.config.apiBaseUrl,
          timeoutMs: o.config.timing.requestTimeout,
          costPerImage: 0,
        })
      : undefined);
  if (!provider || provider.name === 'placeholder') {
    throw new InputError(
      'a style sheet is generated with Gemini: set GEMINI_API_KEY (or draw one and save it as PNG)',
      {
        field: 'GEMINI_API_KEY',
      },
    );
  }
  const result = await provider.generate({
    kind: 'scene',
    caseId: o.caseId,
    imageId: 'style',
    prompt: styleSheetPrompt(artStyle),
    aspectRatio: '1:1',
  });
  if (!result.ok)
    throw new StyleSheetError(
      `the style sheet could not be generated: ${result.errorType} - ${result.message}`,
    );
  if (result.mimeType !== 'image/png') {
    throw new StyleSheetError(`the model returned ${result.mimeType}; a style sheet must be a PNG`);
  }
  await writeFileAtomic(path, result.bytes);
  return { file: path, replaced: exists };
}
