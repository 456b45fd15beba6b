// Which way imports go between src/ folders (docs/ARCHITECTURE.md, "Layers and the direction of imports").
// Type-only imports count (tsPreCompilationDeps): a cycle closed by a type is still a cycle.

/** From the bottom up: a folder may import itself and the layers below it, never a sibling or a layer above. */
const LAYERS = [
  ['common'],
  ['core'],
  ['protocol', 'pipeline', 'store'],
  ['security', 'leadership'],
  ['master'],
  ['inference'],
  ['sdk'],
  ['worker'],
  ['http', 'mcp'],
  // The process wiring (cli/master-process.ts) builds every part, so it sits above them all.
  ['cli'],
];

const layerRules = LAYERS.flatMap((layer, i) =>
  layer.map((folder) => {
    const below = LAYERS.slice(0, i).flat();
    return {
      name: `layers-${folder}`,
      comment: `src/${folder}/ may import only ${below.length === 0 ? 'itself' : `itself and src/{${below.join(',')}}/`} (docs/ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [folder, ...below].map((f) => `^src/${f}/`) },
    };
  }),
);

export default {
  forbidden: [
    ...layerRules,
    {
      name: 'http-not-sdk',
      comment: 'the HTTP API reaches the master through its ports, never through the client SDK (the master parses pipelines: PIPELINE_SUBMIT)',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/sdk/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'folders import each other one way only; this still holds for a folder left out of LAYERS',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
