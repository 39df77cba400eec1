import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Differential tests spawn qemu-img; two workers keep a 2-core machine responsive.
    maxWorkers: 2,
  },
});
