import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // CSP: no inline <style> injected at run time; component CSS goes into the bundle file.
    css: 'external',
  },
};
