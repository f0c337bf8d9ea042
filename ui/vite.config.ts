/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  plugins: [svelte()],
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
