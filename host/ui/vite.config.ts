import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The server sends a strict Content-Security-Policy (script-src 'self', style-src 'self'):
// index.html may only reference external files under /assets/, so no inline module-preload
// polyfill and no inlined assets.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    // The flow editor's chunk (CodeMirror, the YAML library) loads only with the editor.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // The editor imports the flow format's JSON Schema from the repository's schema/ folder.
    fs: { allow: ['.', '../../schema'] },
    // `npm run dev` against a local `weft serve`.
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
      '/healthz': { target: 'http://127.0.0.1:8080' },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
