import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_CASES = fileURLToPath(new URL('../../cases/', import.meta.url));

/** A temp directory acting as a repo root, with the repo's sample cases copied in (unless withSamples false). Returns the path. */
export async function makeTempRoot(options: { withSamples?: boolean } = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lineup-test-'));
  if (options.withSamples ?? true) {
    // Only case.json files: images and manifests in the working tree belong to real runs, and a
    // test must start from the same state on every machine.
    await cp(REPO_CASES, join(root, 'cases'), {
      recursive: true,
      filter: (src) => !/[/\\]images(?:[/\\]|$)/.test(src.slice(REPO_CASES.length - 1)),
    });
  }
  return root;
}
