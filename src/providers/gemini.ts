import {
  type GenerateContentResponse,
  GoogleGenAI,
  type ImageConfig,
  Modality,
  type Part,
} from '@google/genai';
import { IMAGE_MODELS, type ImageSize, isGemini3ImageModel } from '../config/pricing.ts';
import { verifyImage } from '../images/inspect.ts';
import { STYLE_INSTRUCTION } from '../styles/style-sheet.ts';
import { classifyError, cleanMessage } from './classify-error.ts';
import { createModelCheck } from './model-check.ts';
import type {
  AspectRatio,
  GenerationFailure,
  GenerationResult,
  ImageProvider,
  ImageRequest,
} from './types.ts';
import { type TokenUsage, usageFromMetadata } from './usage-cost.ts';

export interface GeminiProviderOptions {
  apiKey: string;
  model: string;
  apiVersion: string;
  /** Undefined → the SDK's own GOOGLE_GEMINI_BASE_URL, else Google's endpoint. */
  baseUrl?: string | undefined;
  timeoutMs: number;
  costPerImage: number;
  /** imageConfig.imageSize, sent to Gemini 3 image models only (older ones reject it). */
  imageSize?: ImageSize | undefined;
}

/**
 * The imageConfig of a request: the aspect ratio, plus the output size for Gemini 3 image models
 * that offer it (a 1K-only model such as gemini-3.1-flash-lite-image is sent no other size).
 */
export function imageConfigFor(model: string, aspectRatio: AspectRatio, imageSize?: ImageSize): ImageConfig {
  if (!imageSize || !isGemini3ImageModel(model)) return { aspectRatio };
  const sizes = IMAGE_MODELS[model]?.imageTokens;
  if (sizes && sizes[imageSize] === undefined) return { aspectRatio };
  return { aspectRatio, imageSize };
}

function isImagePart(p: Part): boolean {
  return Boolean(p.inlineData?.data && p.inlineData.mimeType?.startsWith('image/'));
}

/**
 * The final image of a reply. Gemini 3 image models may send up to two interim images marked
 * `thought: true` before the final one, and the final one has been seen flagged too
 * (github.com/Lixpi/lixpi/pull/136, "LIX-135"): the last image part that is not a thought, else the last
 * image part.
 */
function finalImagePart(parts: readonly Part[]): Part | undefined {
  const images = parts.filter(isImagePart);
  return images.findLast((p) => !p.thought) ?? images.at(-1);
}

// Finish reasons that mean the model refused, as opposed to simply not producing an image.
const BLOCKED_FINISH = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'RECITATION',
  'IMAGE_RECITATION',
]);

const TEXT_SNIPPET_CHARS = 120;

export interface InterpretContext {
  model: string;
  costPerImage: number;
  /** Scrubbed from every message. */
  apiKey?: string | undefined;
}

/**
 * One generateContent reply to a result; exported because a batch job's inlined responses are the
 * same replies and must be judged exactly like synchronous ones.
 */
export function interpretResponse(response: GenerateContentResponse, o: InterpretContext): GenerationResult {
  function fail(
    errorType: GenerationFailure['errorType'],
    reason: GenerationFailure['reason'],
    message: string,
  ): GenerationFailure {
    return { ok: false, errorType, reason, message: cleanMessage(message, o.apiKey) };
  }

  const blockReason = response.promptFeedback?.blockReason;
  if (blockReason) {
    const detail = response.promptFeedback?.blockReasonMessage;
    return fail(
      'validation',
      'prompt_blocked',
      `prompt blocked: ${blockReason}${detail ? ` (${detail})` : ''}`,
    );
  }
  const candidate = response.candidates?.[0];
  const allParts = candidate?.content?.parts ?? [];
  const imagePart = finalImagePart(allParts);
  // Thought text is the model's reasoning, not an answer: only plain text counts as "text only".
  const parts = allParts.filter((p) => !p.thought);
  const finishReason = candidate?.finishReason ? String(candidate.finishReason) : undefined;
  const finishMessage = candidate?.finishMessage ? ` (${candidate.finishMessage})` : '';

  if (imagePart?.inlineData?.data) {
    const bytes = new Uint8Array(Buffer.from(imagePart.inlineData.data, 'base64'));
    const checked = verifyImage(bytes);
    if (!checked.ok) {
      return fail(
        'validation',
        'undecodable_image',
        `reply's ${imagePart.inlineData.mimeType} is not a decodable image: ${checked.reason}`,
      );
    }
    const declared = imagePart.inlineData.mimeType;
    if (declared && declared !== checked.header.mimeType) {
      return fail(
        'validation',
        'undecodable_image',
        `reply says ${declared} but the bytes are ${checked.header.mimeType}`,
      );
    }
    return {
      ok: true,
      bytes,
      mimeType: checked.header.mimeType,
      width: checked.header.width,
      height: checked.header.height,
      provider: 'gemini',
      model: o.model,
      costUsd: o.costPerImage,
      ...withUsage(response),
    };
  }

  if (finishReason && BLOCKED_FINISH.has(finishReason)) {
    return fail('validation', 'image_blocked', `image blocked: ${finishReason}${finishMessage}`);
  }
  if (finishReason === 'NO_IMAGE') {
    return fail('validation', 'no_image', `no image in reply: NO_IMAGE${finishMessage}`);
  }
  const text = parts
    .map((p) => p.text ?? '')
    .join(' ')
    .trim();
  if (text) {
    const snippet = text.length > TEXT_SNIPPET_CHARS ? `${text.slice(0, TEXT_SNIPPET_CHARS)}…` : text;
    return fail('validation', 'text_only', `reply holds only text: "${snippet}"`);
  }
  const why = candidate ? `finishReason ${finishReason ?? 'none'}${finishMessage}` : 'no candidates';
  return fail('validation', 'no_image', `no image in reply: ${why}`);
}

/**
 * The prompt alone, or with reference images: the prompt, the instruction that says what the
 * reference is for, then each image as an inlineData part (Google's image-generation docs send
 * reference images this way: https://ai.google.dev/gemini-api/docs/image-generation).
 */
export function requestContents(
  prompt: string,
  references: ImageRequest['references'],
): string | Array<{ role: string; parts: Part[] }> {
  if (!references?.length) return prompt;
  return [
    {
      role: 'user',
      parts: [
        { text: prompt },
        { text: STYLE_INSTRUCTION },
        ...references.map((r) => ({
          inlineData: { mimeType: r.mimeType, data: Buffer.from(r.bytes).toString('base64') },
        })),
      ],
    },
  ];
}

function withUsage(response: GenerateContentResponse): { usage?: TokenUsage } {
  const usage = usageFromMetadata(response.usageMetadata, 'image');
  return usage ? { usage } : {};
}

export function createGeminiProvider(o: GeminiProviderOptions): ImageProvider {
  const client = new GoogleGenAI({
    apiKey: o.apiKey,
    apiVersion: o.apiVersion,
    // No retryOptions: the runner owns retry policy and honours RetryInfo, the SDK's retries do not.
    httpOptions: o.baseUrl ? { baseUrl: o.baseUrl } : {},
  });
  const verifyModel = createModelCheck(o);
  return {
    name: 'gemini',
    model: o.model,
    costPerImage: o.costPerImage,
    verifyModel,
    async generate(request: ImageRequest): Promise<GenerationResult> {
      const timeout = AbortSignal.timeout(o.timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      try {
        const response = await client.models.generateContent({
          model: o.model,
          contents: requestContents(request.prompt, request.references),
          config: {
            responseModalities: [Modality.IMAGE],
            imageConfig: imageConfigFor(o.model, request.aspectRatio, o.imageSize),
            abortSignal: signal,
          },
        });
        return interpretResponse(response, o);
      } catch (error) {
        return classifyError(error, {
          apiKey: o.apiKey,
          timedOut: timeout.aborted,
          callerAborted: request.signal?.aborted ?? false,
          timeoutMs: o.timeoutMs,
        });
      }
    },
  };
}
