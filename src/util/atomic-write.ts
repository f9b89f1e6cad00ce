import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes a file so that readers (and a `kill -9` at any moment) see either the old content or the
 * new one, never a torn file: write a temp file beside it, fsync, rename over the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Removes temp files that a killed process left behind (they never became the real file).
 * Only old ones: a younger temp file may belong to a write still in progress elsewhere.
 */
export async function removeStaleTemps(dir: string, olderThanMs = 10 * 60_000): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const cutoff = Date.now() - olderThanMs;
  for (const name of names.filter((n) => /^\.[0-9a-f]{12}\.tmp$/.test(n))) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(join(dir, name), { force: true });
  }
}
