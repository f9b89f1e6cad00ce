import { InputError } from '../errors.ts';
import { createGeminiProvider, type GeminiProviderOptions } from './gemini.ts';
import { createPlaceholderProvider } from './placeholder.ts';
import type { ImageProvider, ProviderName } from './types.ts';

/** The Gemini provider's options, with the provider's name and the key optional (the placeholder needs none). */
export interface CreateProviderOptions extends Omit<GeminiProviderOptions, 'apiKey'> {
  provider: ProviderName;
  apiKey?: string | undefined;
}

/** The one place that turns configuration into a provider, so every face chooses the same way. */
export function createProvider(o: CreateProviderOptions): ImageProvider {
  if (o.provider === 'placeholder') return createPlaceholderProvider();
  if (!o.apiKey) throw new InputError('GEMINI_API_KEY is not set; set it or use --provider placeholder');
  const { provider: _name, ...gemini } = o;
  return createGeminiProvider({ ...gemini, apiKey: o.apiKey });
}
