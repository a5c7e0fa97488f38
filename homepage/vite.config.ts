import react from '@vitejs/plugin-react'
import { loadEnv } from 'vite'
import { defineConfig } from 'vitest/config'

// The dev server and `vite preview` both forward the API and the chat socket to the
// backends, so the browser only ever talks to one origin. AGENTS_URL / AUTH_URL let the
// end-to-end tests point the proxy at services running on other ports.
export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), ''), ...process.env }
  const agentsUrl = env.AGENTS_URL || 'http://localhost:8000'
  const authUrl = env.AUTH_URL || 'http://localhost:8103'
  const proxy = {
    '/api/v1/users': { target: agentsUrl, changeOrigin: true },
    '/ws': { target: agentsUrl, ws: true, changeOrigin: true },
    '/api/v1/shopify': { target: authUrl, changeOrigin: true },
    '/api/v1/sign-out': { target: authUrl, changeOrigin: true },
  }
  return {
    plugins: [react()],
    server: { port: 3456, strictPort: true, proxy },
    preview: { port: 3456, strictPort: true, proxy },
    build: { outDir: 'dist', emptyOutDir: true },
    test: {
      environment: 'jsdom',
      globals: true,
      setupFiles: ['./src/test/setup.ts'],
      include: ['src/**/*.test.{ts,tsx}'],
      restoreMocks: true,
    },
  }
})
