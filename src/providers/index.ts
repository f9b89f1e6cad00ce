import type { ImageSize } from '../config/pricing.ts';
import { InputError } from '../errors.ts';
import { createGeminiProvider } from './gemini.ts';
import { createPlaceholderProvider } from './placeholder.ts';
import type { ImageProvider, ProviderName } from './types.ts';

export interface CreateProviderOptions {
  provider: ProviderName;
  apiKey?: string | undefined;
  model: string;
  apiVersion: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
  costPerImage: number;
  imageSize?: ImageSize | undefined;
}

/** The one place that turns configuration into a provider, so every face chooses the same way. */
export function createProvider(o: CreateProviderOptions): ImageProvider {
  if (o.provider === 'placeholder') return createPlaceholderProvider();
  if (!o.apiKey) throw new InputError('GEMINI_API_KEY is not set; set it or use --provider placeholder');
  return createGeminiProvider({
    apiKey: o.apiKey,
    model: o.model,
    apiVersion: o.apiVersion,
    baseUrl: o.baseUrl,
    timeoutMs: o.timeoutMs,
    costPerImage: o.costPerImage,
    imageSize: o.imageSize,
  });
}
