import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const dirs = [
  'packages/config', 'packages/http', 'packages/session', 'packages/guards', 'packages/metrics',
  'packages/testing', 'packages/media-url', 'packages/embedded', 'packages/e2e', 'packages/reliability',
  'services/profile', 'services/media', 'services/gateway'
]

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./packages/testing/src/global-setup.ts', import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: dirs.map((dir) => ({
      extends: true,
      test: {
        name: dir.split('/')[1],
        root: fileURLToPath(new URL(`./${dir}`, import.meta.url)),
        include: ['test/**/*.test.ts']
      }
    }))
  }
})
