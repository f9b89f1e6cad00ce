/** How big one Gemini batch job may grow. */
export interface ChunkLimits {
  /** Request body bytes per job; the API refuses inline requests over 20 MB in total. */
  maxBytes: number;
  /**
   * Requests per job. A finished job returns every image inline in one `batches.get` answer
   * (about 2 MB of base64 per image), so jobs are kept small enough to hold in memory.
   */
  maxRequests: number;
}

/** 1 MB under the API's limit leaves room for the envelope and the display name. */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxBytes: 19_000_000, maxRequests: 50 };

/** Splits in order, greedily; an item too large on its own still gets a chunk (the API will say why). */
export function chunkBy<T>(items: readonly T[], bytesOf: (item: T) => number, limits: ChunkLimits): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (current.length > 0 && (bytes + size > limits.maxBytes || current.length >= limits.maxRequests)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
