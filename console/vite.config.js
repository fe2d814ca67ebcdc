// Build: `npm ci && npm run build` (scripts/setup.sh) writes dist/, which rewindd serves at /
// (--console-dir, default the source tree's console/dist). No CDN, nothing fetched at run time.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // One small bundle: no module preload polyfill (the CSP allows scripts from this origin only).
    modulePreload: { polyfill: false },
  },
});
