import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
    // Prints how many GPU tests ran (and fails a WEBNMF_REQUIRE_GPU=1 run in which none did).
    globalSetup: ['test/gpu/count-setup.ts'],
  },
});
