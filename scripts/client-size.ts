// Prints the minified + gzipped size of parley-client's core (socket.io-client left out: it
// is the Socket.IO transport's own dependency) and of its React layer (React and the core
// left out). Run: npm run client:size
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { coreAsPackage } from './build-client.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CORE = path.join(ROOT, 'client/src/index.ts');

async function measure(entry: string, external: string[], plugins: Plugin[] = []) {
  const out = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, external, plugins });
  const code = out.outputFiles[0]!.contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const core = await measure(CORE, ['socket.io-client']);
const react = await measure(path.join(ROOT, 'client/src/react/index.ts'), ['react', 'react-dom'], [coreAsPackage]);
console.log(`parley-client core (socket.io-client excluded): ${kB(core.min)} minified, ${kB(core.gzip)} gzipped (budget 15 kB)`);
console.log(`parley-client/react (react and the core excluded): ${kB(react.min)} minified, ${kB(react.gzip)} gzipped (budget 4 kB)`);
