import type { GenerateContentResponseUsageMetadata } from '@google/genai';

/**
 * What one reply used, by modality, from its `usageMetadata`. Google's UsageMetadata reference
 * (https://ai.google.dev/api/generate-content#UsageMetadata) names the fields; image replies put
 * their image tokens in `candidatesTokensDetails: [{ modality: "IMAGE", tokenCount }]` (seen in
 * langchain-ai/langchain#37848), and thinking models report `thoughtsTokenCount` apart from the
 * candidates (langchain-ai/langchain-google#1053), billed at the output rate.
 */
export interface TokenUsage {
  /** Everything sent: text, reference images, the image under review. */
  prompt: number;
  /** Image output tokens. */
  image: number;
  /** Text output tokens (a judge's answer, a refusal). */
  text: number;
  /** Thinking tokens, billed as text output. */
  thoughts: number;
  total: number;
}

const count = (n: number | undefined): number =>
  typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;

/** Undefined when the reply carried no usageMetadata (some proxies strip it): then only the estimate is known. */
export function usageFromMetadata(
  meta: GenerateContentResponseUsageMetadata | undefined,
): TokenUsage | undefined {
  if (!meta) return undefined;
  const details = meta.candidatesTokensDetails ?? [];
  let image = 0;
  let text = 0;
  for (const d of details) {
    if (String(d.modality) === 'IMAGE') image += count(d.tokenCount);
    else text += count(d.tokenCount);
  }
  // Without a breakdown every candidate token is text: the dearer reading for an image model is
  // the image rate, but an unbroken count only comes from text replies in what was seen.
  if (details.length === 0) text = count(meta.candidatesTokenCount);
  const prompt = count(meta.promptTokenCount);
  const thoughts = count(meta.thoughtsTokenCount);
  const total = count(meta.totalTokenCount) || prompt + image + text + thoughts;
  return { prompt, image, text, thoughts, total };
}

/** USD per one million tokens. */
interface TokenPrices {
  input: number;
  textOutput: number;
  imageOutput: number;
}

/*
 * Standard (paid tier) prices per 1M tokens, read 2026-12-01 from Google's pricing page
 * (https://ai.google.dev/gemini-api/docs/pricing) as transcribed by Vercel AI Gateway, Vertex AI's
 * calculator and OpenRouter listings: image output is $30/M for 2.5 Flash Image (1,290 tokens =
 * $0.039 an image), $60/M for 3.1 Flash Image (1K: 1,120 tokens ≈ $0.067), $120/M for 3 Pro
 * Image; thinking is billed as text output. gemini-3.1-flash-lite (GA since May 2026, the judge's
 * default) is $0.25 in / $1.50 out. The Batch API takes half of every price.
 */
const PRICES: Record<string, TokenPrices> = {
  'gemini-2.5-flash-image': { input: 0.3, textOutput: 2.5, imageOutput: 30 },
  'gemini-3.1-flash-image': { input: 0.5, textOutput: 3, imageOutput: 60 },
  'gemini-3-pro-image': { input: 2, textOutput: 12, imageOutput: 120 },
  'gemini-3.1-flash-lite': { input: 0.25, textOutput: 1.5, imageOutput: 0 },
  'gemini-3.5-flash-lite': { input: 0.3, textOutput: 2.5, imageOutput: 0 },
};

/** The Batch API's share of the standard price. */
const BATCH_FACTOR = 0.5;

/** `-preview` ids bill like the model they preview. */
function pricesOf(model: string): TokenPrices | undefined {
  return PRICES[model] ?? PRICES[model.replace(/-preview(?:-[\w-]+)?$/, '')];
}

/**
 * What a reply actually cost: its tokens times the published per-token prices. Undefined for a
 * model whose prices are not known (the estimate stays the only figure rather than a guess).
 */
export function actualCostUsd(model: string, usage: TokenUsage, mode: 'sync' | 'batch'): number | undefined {
  const p = pricesOf(model);
  if (!p) return undefined;
  const usd =
    (usage.prompt * p.input + (usage.text + usage.thoughts) * p.textOutput + usage.image * p.imageOutput) /
    1_000_000;
  const factor = mode === 'batch' ? BATCH_FACTOR : 1;
  return Math.round(usd * factor * 1e7) / 1e7;
}

/** Sums usages (a judge's calls, an image's attempts). */
export function addUsage(a: TokenUsage | undefined, b: TokenUsage | undefined): TokenUsage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    prompt: a.prompt + b.prompt,
    image: a.image + b.image,
    text: a.text + b.text,
    thoughts: a.thoughts + b.thoughts,
    total: a.total + b.total,
  };
}
