import { roundUsd } from '../util/money.ts';
/*
 * The one price table of lineup: every Gemini image model that is current, its price per image by
 * output size (imageConfig.imageSize) in standard and Batch API mode, and the per-token prices
 * that turn a reply's usageMetadata into what the image really cost (tokenCost).
 *
 * Verified on 2026-12-01 against these sources (a model change is the one line DEFAULT_IMAGE_MODEL
 * below, or `model` in lineup.config.json, or --model):
 * - Google's Gemini API changelog (ai.google.dev/gemini-api/docs/changelog), entry of 2026-10-06:
 *   "Gemini Nano Banana 2.1 GA: released gemini-nano-banana-2.1 … the update of Nano Banana 2
 *   (gemini-3.1-flash-image) … Deprecation announcement: gemini-3.1-flash-image is deprecated (no
 *   shutdown date announced yet). Migrate to gemini-nano-banana-2.1." Entry of 2026-05-28:
 *   gemini-3.1-flash-image and gemini-3-pro-image GA, their -preview ids shut down 2026-06-25.
 *   Entry of 2026-06-30: gemini-3.1-flash-lite-image (Nano Banana 2 Lite) GA, 1K output only.
 * - Google's deprecations page (ai.google.dev/gemini-api/docs/deprecations): gemini-2.5-flash-image
 *   shut down 2026-10-02. Third parties report gemini-3.1-flash-image shut down on 2026-10-29
 *   (github.com/BerriAI/litellm/discussions/44983, skills.sh/jpcaparas/skills/nanobanana snapshot of
 *   2026-10-18); Google's changelog still gave no date, so it stays in the table, marked deprecated.
 * - Prices (Google's pricing page ai.google.dev/gemini-api/docs/pricing as transcribed by
 *   github.com/BerriAI/litellm/discussions/44983 (Oct 2026), inference.sh/apps/google/gemini-nano-banana-2-1
 *   (2026-11-06), docs.laozhang.ai nano-banana-2-1 (Google standard 2K $0.0504, 4K $0.113, checked
 *   2026-10-14), blog.laozhang.ai nano-banana-2-api-pricing-guide and help.apiyi.com?p=17443 for
 *   3.1 Flash Image, yingtu.ai nano-banana-pro-api-pricing-per-image for 3 Pro Image): image output
 *   is billed per token: 2.1 at $30 per million (1K = 1,120 tokens = $0.0336, 2K = 1,680 =
 *   $0.0504, 4K = 3,780 = $0.1134); 3.1 Flash Image at $60 (1K $0.067, 2K $0.101, 4K $0.151);
 *   3 Pro Image at $120 (1K/2K 1,120 tokens = $0.134, 4K 2,000 = $0.24). The Batch API takes half
 *   of every price (Google's Batch API docs: "50% of the standard cost").
 * Thought tokens (usageMetadata.thoughtsTokenCount) are billed at the text output rate.
 */

export type ImageSize = '1K' | '2K' | '4K';
export const IMAGE_SIZES: readonly ImageSize[] = ['1K', '2K', '4K'];

/** The image model a fresh configuration uses: Google's current GA Flash image model. */
export const DEFAULT_IMAGE_MODEL = 'gemini-nano-banana-2.1';

/** USD per million tokens. */
export interface TokenPrices {
  textInput: number;
  /** Text output, and thoughts (thoughtsTokenCount) which are billed as output. */
  textOutput: number;
  imageOutput: number;
}

export interface ImageModelPrice {
  status: 'ga' | 'deprecated';
  /** Image output tokens per image at each size the model offers. */
  imageTokens: Partial<Record<ImageSize, number>>;
  tokens: TokenPrices;
}

/** Share of the standard price the Gemini Batch API charges. */
export const BATCH_PRICE_FACTOR = 0.5;

/** Every model here is of the Gemini 3 image family (gemini-2.5-flash-image was shut down). */
export const IMAGE_MODELS: Readonly<Record<string, ImageModelPrice>> = {
  'gemini-nano-banana-2.1': {
    status: 'ga',
    imageTokens: { '1K': 1120, '2K': 1680, '4K': 3780 },
    tokens: { textInput: 1.5, textOutput: 7.5, imageOutput: 30 },
  },
  'gemini-3.1-flash-lite-image': {
    // Nano Banana 2 Lite: 1K only. Google's launch post (blog.google, 2026-06-30) puts it at half the
    // cost of Nano Banana 2 ($0.0336 at 1K); its text rates are assumed to be 3.1 Flash-Lite's.
    status: 'ga',
    imageTokens: { '1K': 1120 },
    tokens: { textInput: 0.25, textOutput: 1.5, imageOutput: 30 },
  },
  'gemini-3-pro-image': {
    status: 'ga',
    imageTokens: { '1K': 1120, '2K': 1120, '4K': 2000 },
    tokens: { textInput: 2, textOutput: 12, imageOutput: 120 },
  },
  'gemini-3.1-flash-image': {
    status: 'deprecated',
    imageTokens: { '1K': 1120, '2K': 1680, '4K': 2520 },
    tokens: { textInput: 0.5, textOutput: 3, imageOutput: 60 },
  },
};

/** A price to a millionth of a dollar, so float noise stays out of reports. */
function usd(value: number): number {
  return roundUsd(value, 6);
}

/**
 * True for the Gemini 3 image family, which takes imageConfig.imageSize, returns Gemini 3 pixel
 * sizes and thought images: every model of the table, and unknown ones named like them.
 */
export function isGemini3ImageModel(model: string): boolean {
  if (IMAGE_MODELS[model]) return true;
  return /^gemini-(?:3|nano-banana)/.test(model) && /image|nano-banana/.test(model);
}

/**
 * Standard price of one image of `model` at `size`, from the table; undefined for a model or
 * size it does not know. A model without the size is priced at its largest one (it cannot make
 * more than that).
 */
export function imagePrice(model: string, size: ImageSize = '1K'): number | undefined {
  const entry = IMAGE_MODELS[model];
  if (!entry) return undefined;
  const tokens = entry.imageTokens[size] ?? Math.max(...Object.values(entry.imageTokens));
  return usd((tokens * entry.tokens.imageOutput) / 1e6);
}

/** Batch API price of one image (half the standard one). */
export function batchImagePrice(model: string, size: ImageSize = '1K'): number | undefined {
  const price = imagePrice(model, size);
  return price === undefined ? undefined : usd(price * BATCH_PRICE_FACTOR);
}

/** A price for a model the table does not know: the dearest known at that size, so estimates err high. */
export function unknownModelPrice(size: ImageSize = '1K'): number {
  return Math.max(...Object.keys(IMAGE_MODELS).map((m) => imagePrice(m, size) ?? 0));
}

/*
 * Text models lineup calls: the vision judge (qa.model) and generate-case. Per 1M tokens, read
 * 2026-12-01: gemini-3.1-flash-lite $0.25 in / $1.50 out (GA since May 2026; Google's pricing page
 * as listed by Vercel AI Gateway and APIYI), gemini-3.8-flash $0.75 / $3.75 (GA 2026-09-02;
 * vercel.com/ai-gateway/models/gemini-3.8-flash), gemini-3.5-flash-lite $0.30 / $2.50.
 */
const TEXT_MODELS: Readonly<Record<string, TokenPrices>> = {
  'gemini-3.1-flash-lite': { textInput: 0.25, textOutput: 1.5, imageOutput: 0 },
  'gemini-3.5-flash-lite': { textInput: 0.3, textOutput: 2.5, imageOutput: 0 },
  'gemini-3.8-flash': { textInput: 0.75, textOutput: 3.75, imageOutput: 0 },
};

/**
 * Per-token prices of any model lineup knows (image or text), the one source for what a reply
 * really cost (src/providers/usage-cost.ts). `-preview` ids bill like the model they preview.
 */
export function tokenPrices(model: string): TokenPrices | undefined {
  const of = (id: string) => IMAGE_MODELS[id]?.tokens ?? TEXT_MODELS[id];
  return of(model) ?? of(model.replace(/-preview(?:-[\w-]+)?$/, ''));
}
