// Builds the console into dist/console (served by registerConsole in src/serve.ts).
// `npm run dev -w packages/web` proxies /api and /healthz to SUANLI_URL (default http://127.0.0.1:8470).
import { defineConfig } from 'vite';

const api = process.env['SUANLI_URL'] ?? 'http://127.0.0.1:8470';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist/console',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // ECharts (line + heatmap) is ~560 kB minified, ~185 kB gzip, and loads after the first paint.
    chunkSizeWarningLimit: 600,
  },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { host: '127.0.0.1', proxy: { '/api': api, '/healthz': api } },
});
