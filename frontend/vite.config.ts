import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The hub serves frontend/dist at `/` on the same origin as the API, so the
// bundle uses relative API paths and needs no proxy or CORS. `npm run dev`
// proxies /api and /health to a local hub (SSEHUB_URL, default :8080).
const hub = process.env.SSEHUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: true },
  server: {
    proxy: {
      '/api': { target: hub, changeOrigin: false },
      '/health': { target: hub },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
