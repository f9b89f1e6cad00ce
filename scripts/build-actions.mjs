// Bundles each action's entrypoint (src/actions/<name>/index.ts) into one committed ESM file,
// actions/<name>/dist/index.js, that a runner starts with its own node24 and no npm install.
//
// The output must be byte-identical on every machine: CI rebuilds and fails on any diff. So: no
// sourcemaps (they embed paths), paths in the bundle are relative to the repo root (esbuild's
// default when absWorkingDir is the root), no timestamps, entries built in a fixed order.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// @actions/* and @google/genai are ESM, but some of their dependencies are CommonJS and call
// `require` for Node built-ins; an ESM bundle has no `require` unless we define one.
const BANNER = [
  "import { createRequire as __lineupCreateRequire } from 'node:module';",
  'const require = __lineupCreateRequire(import.meta.url);',
].join('\n');

/** Action names: every src/actions/<name>/index.ts whose actions/<name>/action.yml exists. */
export function actionNames() {
  const dir = join(ROOT, 'src', 'actions');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .filter(
      (name) =>
        existsSync(join(dir, name, 'index.ts')) && existsSync(join(ROOT, 'actions', name, 'action.yml')),
    )
    .sort();
}

export async function buildActions() {
  const names = actionNames();
  const started = Date.now();
  // One esbuild call for all actions so the shared modules are parsed once. Without `splitting`
  // (off by default) every entry still becomes one self-contained file, no shared chunks.
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(
      names.map((name) => [`${name}/dist/index`, `src/actions/${name}/index.ts`]),
    ),
    outdir: 'actions',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    banner: { js: BANNER },
    // Whitespace and syntax only: identifiers keep their names, so a stack trace from a runner
    // still says which function failed.
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    legalComments: 'none',
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'warning',
    write: false,
  });
  const files = result.outputFiles.map((f) => [f.path, f.contents]);
  for (const name of names) {
    // Where the bundle sits, Node must read .js as ESM even without the repo's package.json.
    files.push([
      join(ROOT, 'actions', name, 'dist', 'package.json'),
      `${JSON.stringify({ type: 'module' }, null, 2)}\n`,
    ]);
  }
  // Temp file + rename: a build running while an action starts (parallel test files each build
  // in their beforeAll) never lets it read half a bundle.
  for (const [path, contents] of files) {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  }
  return { names, ms: Date.now() - started };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { names, ms } = await buildActions();
  console.log(`bundled ${names.map((n) => `actions/${n}/dist/index.js`).join(', ')} in ${ms} ms`);
}
