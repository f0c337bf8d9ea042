// @vitest-environment node
// The interface's build settings that security depends on.
import { describe, expect, it } from 'vitest';
import config from '../../vite.config';

describe('build', () => {
  it('exposes only TAURI_ENV_* variables of the environment to the interface', () => {
    expect(config.envPrefix).toEqual(['TAURI_ENV_']);
  });
  it('keeps every script and style in files (the content security policy forbids inline code)', () => {
    expect(config.build?.assetsInlineLimit).toBe(0);
  });
});
