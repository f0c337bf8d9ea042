// The upgrade screen mounted against a mocked backend: the step under way and those done (said
// to screen readers too), a failed question asked again after a pause (never in a loop), and
// its end: "terminée" said before the app opens, or the app told at once when the file did not
// open.
import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UpgradeStatus } from '$lib/generated/UpgradeStatus';

const calls: string[] = [];
let status: () => UpgradeStatus | null | Error = () => null;
let settings: () => object | Error = () => ({});

vi.mock('@tauri-apps/api/core', () => ({
  invoke: async (cmd: string) => {
    calls.push(cmd);
    const out = cmd === 'app_upgrade_status' ? status() : cmd === 'settings_get' ? settings() : null;
    if (out instanceof Error) throw { code: 'internal', message: out.message, fields: [] };
    return out;
  },
}));

const { default: Upgrading } = await import('./Upgrading.svelte');

const running = (patch: Partial<UpgradeStatus> = {}): UpgradeStatus => ({
  from_version: 18,
  to_version: 19,
  stage: 'checking',
  elapsed_ms: 12_300,
  lang: 'fr',
  ...patch,
});

const asked = () => calls.filter((c) => c === 'app_upgrade_status').length;

describe('the upgrade screen', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    calls.length = 0;
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('shows the step under way, the steps done (in words for screen readers) and how long it has run', async () => {
    status = () => running();
    const done = vi.fn();
    render(Upgrading, { done });
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.getByRole('status').textContent).toBe('Étape en cours : Vérification de la copie');
    const copying = screen.getByTestId('upgrade-step-copying');
    expect(copying.textContent, 'the copy is done, and says so in words').toContain('(terminée)');
    expect(screen.getByTestId('upgrade-step-checking').getAttribute('aria-current')).toBe('step');
    expect(screen.getByTestId('upgrade-step-upgrading').textContent).not.toContain('(terminée)');
    expect(screen.getByTestId('upgrade-screen').textContent).toContain('Depuis 12 s');
    expect(done).not.toHaveBeenCalled();
  });

  it('asks again every half second, and after a failed question too: never in a loop', async () => {
    status = () => new Error('the window is busy');
    const done = vi.fn();
    render(Upgrading, { done });
    await vi.advanceTimersByTimeAsync(1_200);
    expect(asked(), 'one question now, then one every 500 ms').toBe(3);
    expect(done, 'a failed question is not the end of the upgrade').not.toHaveBeenCalled();
    status = () => running({ stage: 'upgrading' });
    await vi.advanceTimersByTimeAsync(500);
    expect(screen.getByRole('status').textContent).toBe('Étape en cours : Mise à jour du fichier');
  });

  it('says the upgrade is over before the app opens, when the file opened', async () => {
    status = () => null;
    settings = () => ({});
    const done = vi.fn();
    render(Upgrading, { done });
    await vi.advanceTimersByTimeAsync(10);
    expect(screen.getByRole('status').textContent).toBe('Mise à jour terminée. Ouverture de votre fichier…');
    expect(screen.getByTestId('upgrade-step-upgrading').textContent).toContain('(terminée)');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done, 'left on screen long enough to be read out').not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toHaveBeenCalledTimes(1);
  });

  it('hands over at once, saying nothing is finished, when the file did not open', async () => {
    status = () => null;
    settings = () => new Error('busy');
    const done = vi.fn();
    render(Upgrading, { done });
    await vi.advanceTimersByTimeAsync(10);
    expect(done, 'the app shows why the file did not open').toHaveBeenCalledTimes(1);
    expect(screen.getByRole('status').textContent).not.toContain('terminée');
  });
});
