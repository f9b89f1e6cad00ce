import { pathToFileURL } from 'node:url';
import { DEFAULT_IMAGE_MODEL, imagePrice } from '../src/config/pricing.ts';
import { verifyImage } from '../src/images/inspect.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import type { ImageRequest } from '../src/providers/types.ts';
import { startFakeGemini } from '../test/support/fake-gemini.ts';

/** The default image model's price at 1K (src/config/pricing.ts), as a real run pays it. */
const PRICE = imagePrice(DEFAULT_IMAGE_MODEL) ?? 0;

const MODEL = DEFAULT_IMAGE_MODEL;

/**
 * What the gemini provider costs per request on top of the network, against the fake at zero latency
 * with the image pre-cached: the full provider, a bare fetch of the same reply as the floor, and
 * verifyImage alone (the PNG decode is most of the difference).
 */
export async function benchGeminiOverhead(count = 200): Promise<string[]> {
  const fake = await startFakeGemini();
  try {
    const provider = createGeminiProvider({
      apiKey: 'bench-key',
      model: MODEL,
      apiVersion: 'v1beta',
      baseUrl: fake.url,
      timeoutMs: 30_000,
      costPerImage: PRICE,
    });
    const request: ImageRequest = {
      kind: 'suspect',
      caseId: 'case-2025-01-19',
      imageId: 'suspect-1',
      prompt: 'bench: a tall woman in a green raincoat',
      aspectRatio: '3:4',
    };
    const body = JSON.stringify({
      contents: [{ role: 'user', parts: [{ text: request.prompt }] }],
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: request.aspectRatio } },
    });
    const url = `${fake.url}/v1beta/models/${MODEL}:generateContent`;
    const bareFetch = async (): Promise<Uint8Array> => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'bench-key' },
        body,
      });
      const json = (await res.json()) as {
        candidates: Array<{ content: { parts: Array<{ inlineData: { data: string } }> } }>;
      };
      return Buffer.from(json.candidates[0]?.content.parts[0]?.inlineData.data ?? '', 'base64');
    };

    // Warm-up: fills the fake's image cache and lets the JIT settle on both paths.
    let imageBytes = 0;
    for (let i = 0; i < 10; i++) {
      const r = await provider.generate(request);
      if (!r.ok) throw new Error(r.message);
      imageBytes = r.bytes.length;
      await bareFetch();
    }

    let start = performance.now();
    for (let i = 0; i < count; i++) {
      const r = await provider.generate(request);
      if (!r.ok) throw new Error(r.message);
    }
    const providerMs = (performance.now() - start) / count;

    start = performance.now();
    let sample: Uint8Array = new Uint8Array();
    for (let i = 0; i < count; i++) sample = await bareFetch();
    const fetchMs = (performance.now() - start) / count;

    start = performance.now();
    for (let i = 0; i < count; i++) verifyImage(sample);
    const verifyMs = (performance.now() - start) / count;

    fake.setDefault({ kind: 'rate-limit', retryDelaySec: 37 });
    start = performance.now();
    for (let i = 0; i < count; i++) {
      const r = await provider.generate(request);
      if (r.ok || r.errorType !== 'rate_limit') throw new Error('expected a rate limit');
    }
    const failureMs = (performance.now() - start) / count;

    const kib = (imageBytes / 1024).toFixed(0);
    return [
      `gemini provider, image 864x1184 PNG (${kib} KiB): ${providerMs.toFixed(2)} ms/request over ${count} (fake at 0 ms latency)`,
      `  bare fetch + JSON.parse + base64 of the same reply: ${fetchMs.toFixed(2)} ms/request`,
      `  provider overhead over bare fetch: ${(providerMs - fetchMs).toFixed(2)} ms/request, of which verifyImage ${verifyMs.toFixed(2)} ms`,
      `gemini provider, 429 with RetryInfo → typed failure: ${failureMs.toFixed(2)} ms/request over ${count}`,
    ];
  } finally {
    await fake.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchGeminiOverhead()) console.log(line);
}
