import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The build lands in static/dist, which the Go package embeds (git-ignored; a placeholder page
// is served when it is missing). Everything is bundled: the UI loads nothing from the network.
const faultline = process.env.FAULTLINE_URL ?? 'http://127.0.0.1:7070';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'static/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
  },
  server: {
    // `npm run dev` proxies the API to a running faultline (make run, or FAULTLINE_URL).
    proxy: {
      '/api': faultline,
      '/prometheus': faultline,
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
