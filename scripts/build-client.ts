// Builds the publishable parley-client package into client/dist (or the directory given):
// ES modules for the core, the React layer and the Node file store, and type declarations.
// The Socket.IO transport is a chunk of its own, loaded only by clients that use it, so a
// plain-WebSocket client never loads socket.io-client. Run: npm run client:build
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'client/src');

/** The React layer imports the core as the package itself, so an app has one copy of it. */
export const coreAsPackage: Plugin = {
  name: 'core-as-package',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const file = path.resolve(args.resolveDir, args.path);
      const inReact = file.startsWith(path.join(SRC, 'react'));
      return inReact || args.kind === 'entry-point' || file.startsWith(path.join(ROOT, 'protocol')) ? undefined : { path: 'parley-client', external: true };
    });
  },
};

export async function buildClient(out = path.join(ROOT, 'client/dist')): Promise<string> {
  fs.rmSync(out, { recursive: true, force: true });
  const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', legalComments: 'none' } as const;
  await build({ ...common, entryPoints: { index: path.join(SRC, 'index.ts') }, outdir: out, splitting: true, platform: 'neutral', external: ['socket.io-client'] });
  await build({ ...common, entryPoints: { react: path.join(SRC, 'react/index.ts') }, outdir: out, platform: 'neutral', external: ['react'], plugins: [coreAsPackage] });
  await build({ ...common, entryPoints: { node: path.join(SRC, 'node.ts') }, outdir: out, platform: 'node' });
  const config = path.join(out, 'tsconfig.types.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: path.join(out, 'types'), rootDir: ROOT, typeRoots: [path.join(ROOT, 'node_modules/@types')] },
      include: [SRC],
    }),
  );
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { stdio: 'inherit' });
  fs.rmSync(config);
  return out;
}

if (process.argv[1] === import.meta.filename) {
  const out = await buildClient(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`parley-client built into ${path.relative(process.cwd(), out) || '.'}`);
}
