import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// `npm run dev` talks to a local `esv serve` (the API and its subscriptions at /graphql).
const api = process.env.ESV_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: {
    proxy: {
      '/graphql': { target: api, ws: true },
      '/exports': api,
      '/reports': api,
      '/overview': api,
    },
  },
  build: {
    outDir: 'dist',
    // esv serve gives /assets/* a long cache: file names carry their content hash.
    assetsDir: 'assets',
    // ECharts is one large chunk, loaded only by the pages that draw charts
    chunkSizeWarningLimit: 1500,
  },
})
