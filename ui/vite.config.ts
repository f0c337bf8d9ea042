/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

/**
 * The window runs with Object.prototype frozen (Tauri's `freezePrototype`). ECharts' scheduler
 * copies every name of a class prototype onto a plain object by assignment, `constructor`
 * included, which a frozen Object.prototype forbids (the "override mistake"): the module stops
 * half-loaded. Define the property instead; fail the build if ECharts changes that line.
 */
function echartsUnderFrozenPrototype(): Plugin {
  const line = 'target[name_1] = noop;';
  return {
    name: 'echarts-under-frozen-prototype',
    transform(code, id) {
      if (!/echarts[\\/]lib[\\/]core[\\/]Scheduler\.js$/.test(id)) return null;
      if (!code.includes(line)) throw new Error(`echarts' Scheduler.js changed: check ${line} under a frozen Object.prototype`);
      return code.replace(line, 'Object.defineProperty(target, name_1, { value: noop, writable: true, configurable: true, enumerable: true });');
    },
  };
}

export default defineConfig({
  plugins: [svelte(), echartsUnderFrozenPrototype()],
  base: './',
  clearScreen: false,
  // Only Tauri's own build variables reach the interface, never the rest of the environment.
  envPrefix: ['TAURI_ENV_'],
  resolve: {
    alias: { $lib: fileURLToPath(new URL('./src/lib', import.meta.url)) },
    // Tests mount components: use Svelte's browser build there too.
    conditions: process.env.VITEST ? ['browser'] : undefined,
  },
  server: {
    port: 1420,
    strictPort: true,
    fs: { allow: ['..'] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    // Keep every script and style in files: the CSP forbids inline code.
    assetsInlineLimit: 0,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
  },
});
