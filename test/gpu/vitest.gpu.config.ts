// The GPU suites with the GPU-test counter: npx vitest run --config test/gpu/vitest.gpu.config.ts
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/gpu/**/*.test.ts'], globalSetup: ['test/gpu/count-setup.ts'] },
});
