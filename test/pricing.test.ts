import { type GenerateContentResponseUsageMetadata, MediaModality } from '@google/genai';
import { describe, expect, it } from 'vitest';
import {
  BATCH_PRICE_FACTOR,
  batchImagePrice,
  DEFAULT_IMAGE_MODEL,
  IMAGE_MODELS,
  IMAGE_SIZES,
  imagePrice,
  isGemini3ImageModel,
  tokenPrices,
  unknownModelPrice,
} from '../src/config/pricing.ts';
import { batchCostPerImage, configSchema, costPerImage, DEFAULT_MODEL } from '../src/config/schema.ts';
import { imageConfigFor } from '../src/providers/gemini.ts';
import { actualCostUsd, usageFromMetadata } from '../src/providers/usage-cost.ts';

describe('the price table', () => {
  it('holds the GA default, priced as Google publishes it', () => {
    expect(DEFAULT_MODEL).toBe(DEFAULT_IMAGE_MODEL);
    expect(IMAGE_MODELS[DEFAULT_IMAGE_MODEL]?.status).toBe('ga');
    expect(imagePrice('gemini-nano-banana-2.1', '1K')).toBe(0.0336);
    expect(imagePrice('gemini-nano-banana-2.1', '2K')).toBe(0.0504);
    expect(imagePrice('gemini-nano-banana-2.1', '4K')).toBe(0.1134);
    expect(imagePrice('gemini-3.1-flash-image', '4K')).toBe(0.1512);
    expect(imagePrice('gemini-3-pro-image', '2K')).toBe(0.1344);
    expect(imagePrice('gemini-3-pro-image', '4K')).toBe(0.24);
  });

  it('prices every model and size in batch mode at half', () => {
    for (const model of Object.keys(IMAGE_MODELS)) {
      for (const size of IMAGE_SIZES) {
        const standard = imagePrice(model, size) ?? Number.NaN;
        expect(batchImagePrice(model, size)).toBeCloseTo(standard * BATCH_PRICE_FACTOR, 6);
      }
    }
  });

  it('prices a 1K-only model at 1K whatever size is asked, and an unknown model at the dearest', () => {
    expect(imagePrice('gemini-3.1-flash-lite-image', '4K')).toBe(
      imagePrice('gemini-3.1-flash-lite-image', '1K'),
    );
    expect(imagePrice('no-such-model')).toBeUndefined();
    expect(unknownModelPrice('4K')).toBe(0.24);
  });

  it('follows imageSize in the configuration, and an own price wins', () => {
    expect(costPerImage(configSchema.parse({}), DEFAULT_MODEL)).toBe(0.0336);
    const big = configSchema.parse({ imageSize: '2K' });
    expect(costPerImage(big, DEFAULT_MODEL)).toBe(0.0504);
    expect(batchCostPerImage(big, DEFAULT_MODEL)).toBeCloseTo(0.0252, 6);
    const own = configSchema.parse({ cost: { costPerImage: { [DEFAULT_MODEL]: 0.05 } } });
    expect(costPerImage(own, DEFAULT_MODEL)).toBe(0.05);
    expect(() => configSchema.parse({ imageSize: '2k' })).toThrow();
  });

  it('sends imageSize only to Gemini 3 models that offer that size', () => {
    expect(imageConfigFor(DEFAULT_MODEL, '3:4', '2K')).toEqual({ aspectRatio: '3:4', imageSize: '2K' });
    expect(imageConfigFor('gemini-3.1-flash-lite-image', '3:4', '2K')).toEqual({ aspectRatio: '3:4' });
    expect(imageConfigFor('gemini-3.1-flash-lite-image', '3:4', '1K')).toEqual({
      aspectRatio: '3:4',
      imageSize: '1K',
    });
    expect(imageConfigFor('gemini-2.5-flash-image', '16:9', '1K')).toEqual({ aspectRatio: '16:9' });
  });

  it('knows which models are Gemini 3 image models', () => {
    expect(isGemini3ImageModel('gemini-nano-banana-2.1')).toBe(true);
    expect(isGemini3ImageModel('gemini-3-pro-image')).toBe(true);
    expect(isGemini3ImageModel('gemini-2.5-flash-image')).toBe(false);
    expect(isGemini3ImageModel('gemini-3.8-flash')).toBe(false);
  });
});

describe('actual cost from usageMetadata', () => {
  const cost = (
    model: string,
    meta: GenerateContentResponseUsageMetadata,
    mode: 'sync' | 'batch' = 'sync',
  ) => {
    const usage = usageFromMetadata(meta, 'image');
    return usage ? actualCostUsd(model, usage, mode) : undefined;
  };

  it('prices image tokens, text and thoughts at their own rates', () => {
    // 12 prompt tokens, one 1K image (1,120 tokens), 180 thought tokens.
    const usage = {
      promptTokenCount: 12,
      candidatesTokenCount: 1120,
      thoughtsTokenCount: 180,
      candidatesTokensDetails: [{ modality: MediaModality.IMAGE, tokenCount: 1120 }],
    };
    const expected = (12 * 1.5 + 1120 * 30 + 180 * 7.5) / 1e6;
    expect(cost('gemini-nano-banana-2.1', usage)).toBeCloseTo(expected, 6);
    expect(cost('gemini-nano-banana-2.1', usage, 'batch')).toBeCloseTo(expected / 2, 6);
  });

  it('takes candidate tokens beyond the image ones as text', () => {
    const usage = {
      candidatesTokenCount: 1150,
      candidatesTokensDetails: [
        { modality: MediaModality.IMAGE, tokenCount: 1120 },
        { modality: MediaModality.TEXT, tokenCount: 30 },
      ],
    };
    expect(cost('gemini-3-pro-image', usage)).toBeCloseTo((1120 * 120 + 30 * 12) / 1e6, 6);
  });

  it("takes an image model's candidate tokens as image output without a breakdown, and knows no unknown model", () => {
    expect(cost('gemini-3.1-flash-image', { candidatesTokenCount: 1120 })).toBeCloseTo(0.0672, 6);
    expect(cost('no-such-model', { candidatesTokenCount: 1120 })).toBeUndefined();
  });

  it('prices the text models lineup calls from the same table', () => {
    expect(tokenPrices('gemini-3.1-flash-lite')).toMatchObject({ textInput: 0.25, textOutput: 1.5 });
    expect(tokenPrices('gemini-3-pro-image-preview')).toEqual(tokenPrices('gemini-3-pro-image'));
  });
});
