// Which way imports go between src/ folders (docs/ARCHITECTURE.md, "Layers").
// Type-only imports count (tsPreCompilationDeps): a cycle closed by a type is still a cycle.
// Report-only while the existing violations are removed; turned to 'error' once there are none.
const SEVERITY = 'warn';
const below = (folder, allowed) => ({
  name: `${folder}-imports-only-below`,
  comment: `src/${folder}/ may import only ${allowed.map((f) => `src/${f}/`).join(', ')} and itself`,
  severity: SEVERITY,
  from: { path: `^src/${folder}/` },
  to: { path: '^src/', pathNot: [`^src/${folder}/`, ...allowed.map((f) => `^src/${f}/`)] },
});

const never = (name, from, to, comment) => ({ name, comment, severity: SEVERITY, from: { path: from }, to: { path: to } });

export default {
  forbidden: [
    below('common', []),
    below('core', ['common']),
    never('master-not-above', '^src/master/', '^src/(http|inference|mcp|cli)/', 'master/ serves ports; http, inference, mcp and the process wiring (cli/) use them, never the reverse'),
    never('security-not-on-master', '^src/security/', '^src/(master|http|inference|mcp|cli)/', 'security/ sits below the master and its front ends'),
    never('store-not-on-master', '^src/store/', '^src/(master|security|http|inference|mcp|cli)/', 'the store persists the core\'s types and knows no caller'),
    never('protocol-is-a-codec', '^src/protocol/', '^src/(master|store|security|http|inference|mcp|cli|worker|sdk)/', 'wire codecs sit below everything that speaks them'),
    {
      name: 'no-folder-cycles',
      comment: 'folders import each other one way only (a folder cycle closed by a type-only import counts)',
      severity: SEVERITY,
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
