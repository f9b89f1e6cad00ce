import { pathToFileURL } from 'node:url';
import { createPlaceholderProvider } from '../src/providers/placeholder.ts';

/** Milliseconds per 1024x1024 placeholder, averaged over distinct prompts so no layout is favoured. */
export async function benchPlaceholder(count = 20): Promise<string[]> {
  const provider = createPlaceholderProvider();
  const request = (i: number, kind: 'suspect' | 'scene') => ({
    kind,
    caseId: 'case-2025-01-19',
    imageId: kind === 'scene' ? 'scene' : `suspect-${i}`,
    prompt: `bench prompt ${kind} ${i}`,
    aspectRatio: '1:1' as const,
  });
  // One warm-up image so JIT compilation is not counted.
  await provider.generate(request(-1, 'suspect'));
  const lines: string[] = [];
  for (const kind of ['suspect', 'scene'] as const) {
    let bytes = 0;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const result = await provider.generate(request(i, kind));
      if (!result.ok) throw new Error(result.message);
      bytes += result.bytes.length;
    }
    const ms = (performance.now() - start) / count;
    lines.push(
      `placeholder ${kind} 1024x1024: ${ms.toFixed(1)} ms/image, ${(bytes / count / 1024).toFixed(0)} KiB/image (${count} prompts)`,
    );
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchPlaceholder()) console.log(line);
}
