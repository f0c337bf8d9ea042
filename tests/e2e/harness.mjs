// Shared harness of the end-to-end tests: starts tauri-driver on a fresh database file, opens
// a WebDriver session on the real Comptoir window, and offers small helpers.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { remote } from 'webdriverio';

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = process.env.COMPTOIR_APP ?? resolve(HERE, '../../target/debug/comptoir');
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
/** The command-line tool, built beside the app (it writes the older file of the upgrade test). */
export const CLI = process.env.COMPTOIR_CLI ?? resolve(HERE, '../../target/debug/comptoir-cli');
/** Screenshots of each step, to look at (not compared: tests check text, not pixels). */
const SHOTS = resolve(HERE, '../../screenshots');
export const ENTER = '\uE007';
export const ESCAPE = '\uE00C';

let driver;
export let browser;
let dataDir;

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((ok, fail) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.end(); ok(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) fail(new Error(`port ${port} never opened`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/** Start the app on a fresh database, or (`reopen`) on the one the last `stopApp({ keep })`
 *  left; `env` is added to the app's environment (for example libfaketime's, to move the
 *  computer's date as a shop closed for days would see it); `prepare(dbPath)` writes the
 *  database file before the app starts (an older file, to be upgraded) and may return more
 *  environment for the app. */
export async function startApp({ env = {}, reopen = false, prepare } = {}) {
  if (!reopen || !dataDir) dataDir = mkdtempSync(join(tmpdir(), 'comptoir-e2e-'));
  if (prepare) env = { ...env, ...(prepare(join(dataDir, 'shop.db')) ?? {}) };
  mkdirSync(SHOTS, { recursive: true });
  // Its own process group: tauri-driver, WebKitWebDriver and the app they start are stopped
  // together, so no window outlives its test (an orphaned app would hold the test runner's
  // output open and keep the whole suite from ending).
  // COMPTOIR_GPU=1: WebKit's compositing stays on under test. With it off (the app's default
  // on Linux) WebKitWebDriver's screenshot command never answers under Xvfb (measured
  // 2026-12-02: a 60 s timeout); everything else works the same.
  driver = spawn(DRIVER, [], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      COMPTOIR_GPU: '1',
      ...env,
      COMPTOIR_DB: join(dataDir, 'shop.db'),
      COMPTOIR_DOWNLOADS: join(dataDir, 'downloads'),
    },
    detached: true,
  });
  await waitForPort(4444, 30_000);
  browser = await remote({
    hostname: '127.0.0.1',
    port: 4444,
    logLevel: 'warn',
    // tauri-driver accepts connections a moment before its WebKitWebDriver is ready.
    connectionRetryCount: 5,
    connectionRetryTimeout: 60_000,
    capabilities: { 'tauri:options': { application: APP }, 'wdio:enforceWebDriverClassic': true },
  });
  await browser.setTimeout({ implicit: 0 });
}

/** The folder of the app's database file (its backups and upgrade copies sit beside it). */
export function dataFolder() {
  return dataDir;
}

/** Where the app saves the files the window downloads (COMPTOIR_DOWNLOADS). */
export function downloadsDir() {
  return join(dataDir, 'downloads');
}

export async function stopApp({ keep = false } = {}) {
  try { await browser?.deleteSession(); } catch { /* the window may already be gone */ }
  if (driver && driver.exitCode === null) {
    const exited = new Promise((ok) => driver.once('exit', ok));
    driver.kill();
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5_000))]);
  }
  // Whatever is left of the group (WebKitWebDriver, the app) goes too.
  if (driver) {
    try { process.kill(-driver.pid, 'SIGKILL'); } catch { /* the group is already gone */ }
  }
  if (dataDir && !keep) rmSync(dataDir, { recursive: true, force: true });
}

export const shot = (name) => browser.saveScreenshot(join(SHOTS, `${name}.png`));

export async function go(hash) {
  await browser.execute((h) => { window.location.hash = h; }, hash);
}

export async function visible(selector, timeout = 10_000) {
  const el = await browser.$(selector);
  await el.waitForDisplayed({ timeout });
  return el;
}

export async function textOf(selector) {
  return (await visible(selector)).getText();
}

/** The text of every element matching `selector`, read in one go (no stale elements while
 *  the screen re-renders). */
export async function texts(selector) {
  return browser.execute((sel) => Array.from(document.querySelectorAll(sel)).map((e) => e.innerText), selector);
}

export async function waitForText(selector, expected, timeout = 10_000) {
  await browser.waitUntil(async () => (await texts(selector)).some((t) => t.includes(expected)), {
    timeout,
    timeoutMsg: `${selector} never showed ${JSON.stringify(expected)}`,
  });
}

/** Type into whatever has the keyboard focus: the test fails if focus is not where a
 *  keyboard-only user expects it. */
export async function typeInFocused(expectedId, text) {
  await browser.waitUntil(async () => (await browser.execute(() => document.activeElement?.id)) === expectedId, {
    timeout: 5_000,
    timeoutMsg: `focus is not on #${expectedId}`,
  });
  // Focus was checked above, so these keys go where the user's keys would go.
  await (await browser.$(`#${expectedId}`)).addValue(text);
}

/** Wait until the customer rows are exactly these people (a search has really narrowed). */
export async function waitForRows(names, timeout = 10_000) {
  let seen = [];
  await browser.waitUntil(async () => {
    seen = await texts('[data-customer-row]');
    return seen.length === names.length && names.every((n, i) => seen[i].includes(n));
  }, { timeout, timeoutMsg: `rows never became ${JSON.stringify(names)}` }).catch((e) => {
    throw new Error(`${e.message}; last seen ${JSON.stringify(seen)}`);
  });
}

export async function invoke(cmd, args) {
  return browser.execute((c, a) => window.__TAURI_INTERNALS__.invoke(c, a), cmd, args);
}

/** The choices of the till's "use" menu as [value, label], once it has any. */
export async function applyOptions() {
  let options = [];
  await browser.waitUntil(async () => {
    const json = await browser.execute(() =>
      JSON.stringify(Array.from(document.querySelectorAll('#till-apply option')).map((o) => [o.value, o.textContent ?? ''])),
    );
    options = JSON.parse(json);
    return options.length > 1;
  }, { timeout: 10_000, timeoutMsg: 'the till never offered anything to use' });
  return options;
}

/** Text of the page with every kind of space folded to a plain one (Intl uses narrow
 *  no-break spaces in French numbers). */
export async function pageText() {
  return (await browser.$('body').getText()).replace(/[\u00a0\u202f]/g, ' ');
}

export async function fill(selector, value) {
  const el = await visible(selector);
  await el.clearValue();
  await el.setValue(value);
}

