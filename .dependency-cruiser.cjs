/*
 * The layers of src/ and what each may import: the table in docs/ARCHITECTURE.md ("Layers"),
 * checked by `npm run deps` in `npm run ci`. A layer imports itself and the layers listed for it,
 * never one above it; no cycles anywhere. Change the table there and here together.
 */

/** What the engine (src/batch) may import; the run layer above it may import the same and the engine. */
const ENGINE_MAY_IMPORT = [
  'qa',
  'quality',
  'scan',
  'pacing',
  'providers',
  'styles',
  'prompts',
  'cases',
  'config',
  'images',
  'foundation',
];

/** layer → [its folders or files under src/, the layers it may import]. */
const LAYERS = {
  foundation: [['util', 'errors.ts'], []],
  config: [['config'], ['foundation']],
  images: [['images'], ['foundation']],
  cases: [['cases'], ['images', 'foundation']],
  prompts: [['prompts'], ['cases', 'images', 'foundation']],
  styles: [['styles'], ['cases', 'images', 'foundation']],
  providers: [['providers'], ['styles', 'config', 'images', 'foundation']],
  pacing: [['pacing'], ['providers', 'config', 'foundation']],
  qa: [['qa'], ['pacing', 'providers', 'styles', 'prompts', 'cases', 'config', 'images', 'foundation']],
  quality: [['quality'], ['prompts', 'cases', 'images', 'foundation']],
  scan: [['scan'], ['providers', 'styles', 'prompts', 'cases', 'config', 'images', 'foundation']],
  engine: [['batch'], ENGINE_MAY_IMPORT],
  // The wiring may import the engine and everything the engine may.
  run: [['run'], ['engine', ...ENGINE_MAY_IMPORT]],
  'case-gen': [['case-gen'], ['providers', 'styles', 'prompts', 'cases', 'config', 'images', 'foundation']],
  reports: [
    ['github', 'stats', 'preview'],
    ['engine', 'qa', 'providers', 'prompts', 'cases', 'images', 'foundation'],
  ],
  // The faces (terminal commands, GitHub actions) may import every layer.
  faces: [['cli', 'actions'], null],
};

/** `util` → `^src/util/`, `errors.ts` → `^src/errors\\.ts$`. */
const pattern = (p) => (p.endsWith('.ts') ? `^src/${p.replace('.', '\\.')}$` : `^src/${p}/`);
const pathsOf = (layer) => LAYERS[layer][0].map(pattern);

const layerRules = Object.entries(LAYERS)
  .filter(([, [, allowed]]) => allowed !== null)
  .map(([layer, [, allowed]]) => ({
    name: `layer-${layer}`,
    comment: `${layer} may import only ${allowed.length ? allowed.join(', ') : 'itself'} (docs/ARCHITECTURE.md, "Layers")`,
    severity: 'error',
    from: { path: pathsOf(layer) },
    to: { path: '^src/', pathNot: [layer, ...allowed].flatMap(pathsOf) },
  }));

const layered = Object.values(LAYERS).flatMap(([paths]) => paths.map(pattern));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A module never imports itself back through others: layers are a tree, not a knot.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'every-module-has-a-layer',
      comment: 'A new folder under src/ needs a row in the table (here and in docs/ARCHITECTURE.md).',
      severity: 'error',
      from: { path: '^src/', pathNot: layered },
      to: {},
    },
    {
      name: 'src-not-from-tests-or-scripts',
      comment: 'src/ never imports tests, benchmarks or scripts.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count too: a layer must not even name a type from above it.
    parser: 'swc',
  },
};
