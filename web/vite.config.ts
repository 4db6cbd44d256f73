import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin, type ProxyOptions } from 'vite';

// `npm run dev:web`: hot reload on http://127.0.0.1:5173 against a Parley already running
// at PARLEY_URL (default http://127.0.0.1:3000). The API and the realtime gateways are
// proxied, so the page stays same-origin as it is in production.
const target = process.env.PARLEY_URL ?? 'http://127.0.0.1:3000';

// Parley checks the Origin of realtime upgrades against its own host: the proxied
// request is made to look as if the page were served by Parley itself.
const realtime: ProxyOptions = {
  target,
  ws: true,
  changeOrigin: true,
  configure: (proxy) => {
    proxy.on('proxyReqWs', (req) => req.setHeader('origin', target));
    proxy.on('proxyReq', (req) => req.setHeader('origin', target));
  },
};

// The page learns from a meta tag Parley adds whether the development sign-in exists (and
// which parents may embed it): in development, take that tag from the running server.
const runtimeConfigFromServer: Plugin = {
  name: 'parley-runtime-config',
  apply: 'serve',
  async transformIndexHtml(html) {
    try {
      const served = await (await fetch(`${target}/`)).text();
      const tag = /<meta name="parley-config"[^>]*>/.exec(served)?.[0];
      return tag ? html.replace('</head>', `${tag}\n</head>`) : html;
    } catch {
      return html;
    }
  },
};

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), runtimeConfigFromServer],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One file per rarely used screen would cost a round trip each; the app is small.
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/v1': realtime,
      '/socket.io': realtime,
      '/docs': { target, changeOrigin: true },
      '/openapi.json': { target, changeOrigin: true },
      '/health': { target, changeOrigin: true },
    },
  },
});
