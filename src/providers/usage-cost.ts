import type { GenerateContentResponseUsageMetadata } from '@google/genai';
import { BATCH_PRICE_FACTOR, tokenPrices } from '../config/pricing.ts';
import { roundUsd } from '../util/money.ts';

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
  unbroken: 'image' | 'text' = 'text',
): TokenUsage | undefined {
  if (!meta) return undefined;
  const details = meta.candidatesTokensDetails ?? [];
  let image = 0;
  let text = 0;
  for (const d of details) {
    if (String(d.modality) === 'IMAGE') image += count(d.tokenCount);
    else text += count(d.tokenCount);
  }
  // Without a breakdown the caller says what the candidates were: an image model's are taken as
  // image output, the dearer reading (cost tools that priced image tokens at the text rate
  // undercounted 7-75x, PostHog/posthog#45801).
  if (details.length === 0) {
    if (unbroken === 'image') image = count(meta.candidatesTokenCount);
    else text = count(meta.candidatesTokenCount);
  }
  const prompt = count(meta.promptTokenCount);
  const thoughts = count(meta.thoughtsTokenCount);
  const total = count(meta.totalTokenCount) || prompt + image + text + thoughts;
  return { prompt, image, text, thoughts, total };
}

/**
 * What a reply actually cost: its tokens times the published per-token prices. Undefined for a
 * model whose prices are not known (the estimate stays the only figure rather than a guess).
 */
export function actualCostUsd(model: string, usage: TokenUsage, mode: 'sync' | 'batch'): number | undefined {
  const p = tokenPrices(model);
  if (!p) return undefined;
  const usd =
    (usage.prompt * p.textInput +
      (usage.text + usage.thoughts) * p.textOutput +
      usage.image * p.imageOutput) /
    1_000_000;
  const factor = mode === 'batch' ? BATCH_PRICE_FACTOR : 1;
  return roundUsd(usd * factor, 7);
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
