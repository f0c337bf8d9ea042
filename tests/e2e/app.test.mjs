// End-to-end tests of the real Comptoir window: the built app under Xvfb, driven through
// tauri-driver and WebKitWebDriver. Run by `cargo xtask test` (or `cargo xtask e2e` once the
// app is built). Each suite starts the app on a fresh database file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { remote } from 'webdriverio';

const APP = process.env.COMPTOIR_APP ?? resolve('../../target/debug/comptoir');
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
const SHOTS = resolve('../../screenshots');
const ENTER = '\uE007';
const ESCAPE = '\uE00C';

let driver;
let browser;
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

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'comptoir-e2e-'));
  mkdirSync(SHOTS, { recursive: true });
  driver = spawn(DRIVER, [], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, COMPTOIR_DB: join(dataDir, 'shop.db') },
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
});

after(async () => {
  try { await browser?.deleteSession(); } catch { /* the window may already be gone */ }
  driver?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const shot = (name) => browser.saveScreenshot(join(SHOTS, `${name}.png`));

async function go(hash) {
  await browser.execute((h) => { window.location.hash = h; }, hash);
}

async function visible(selector, timeout = 10_000) {
  const el = await browser.$(selector);
  await el.waitForDisplayed({ timeout });
  return el;
}

async function textOf(selector) {
  return (await visible(selector)).getText();
}

async function waitForText(selector, expected, timeout = 10_000) {
  await browser.waitUntil(async () => {
    const els = await browser.$$(selector);
    for (const el of els) {
      if ((await el.getText()).includes(expected)) return true;
    }
    return false;
  }, { timeout, timeoutMsg: `${selector} never showed ${JSON.stringify(expected)}` });
}

/** Type into whatever has the keyboard focus: the test fails if focus is not where a
 *  keyboard-only user expects it. */
async function typeInFocused(expectedId, text) {
  await browser.waitUntil(async () => (await browser.execute(() => document.activeElement?.id)) === expectedId, {
    timeout: 5_000,
    timeoutMsg: `focus is not on #${expectedId}`,
  });
  // Focus was checked above, so these keys go where the user's keys would go.
  await (await browser.$(`#${expectedId}`)).addValue(text);
}

/** Wait until the customer rows are exactly these people (a search has really narrowed). */
async function waitForRows(names, timeout = 10_000) {
  let seen = [];
  await browser.waitUntil(async () => {
    const rows = await browser.$$('[data-customer-row]');
    seen = [];
    for (const r of rows) seen.push(await r.getText());
    return seen.length === names.length && names.every((n, i) => seen[i].includes(n));
  }, { timeout, timeoutMsg: `rows never became ${JSON.stringify(names)}` }).catch((e) => {
    throw new Error(`${e.message}; last seen ${JSON.stringify(seen)}`);
  });
}

async function invoke(cmd, args) {
  return browser.execute((c, a) => window.__TAURI_INTERNALS__.invoke(c, a), cmd, args);
}

async function fill(selector, value) {
  const el = await visible(selector);
  await el.clearValue();
  await el.setValue(value);
}

test('first run opens on a French interface and starts an empty customer file', async () => {
  await visible('#start-empty', 20_000);
  const body = await browser.$('body').getText();
  assert.match(body, /Commencer avec un fichier vide/, 'the welcome screen speaks French');
  await shot('01-first-run');
  await (await browser.$('#start-empty')).click();
  await go('#/customers');
  await visible('#customer-search');
});

test('create Élodie Lefèvre with a phone typed with spaces', async () => {
  await go('#/customers');
  await (await visible('#new-customer')).click();
  await fill('#first_name', 'Élodie');
  await fill('#last_name', 'Lefèvre');
  await fill('#phone', '06 12 34 56 78');
  await shot('02-new-customer-form');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', 'Élodie Lefèvre');
  await shot('03-customer-detail');
});

test('a wrong email is refused with a message next to the field', async () => {
  await go('#/customers/new');
  await fill('#first_name', 'Jean');
  await fill('#email', 'jean@@exemple');
  await (await browser.$('#save-customer')).click();
  await waitForText('[data-error-for="email"]', 'adresse e-mail');
  await shot('04-validation');
});

test('find her by typing "elodie" and by "0612"', async () => {
  // Other customers, so that finding her means the search narrowed the list.
  const other = (first, last, phone) => ({
    input: {
      customer: {
        first_name: first, last_name: last, email: '', phone,
        address: { line1: '', line2: '', postcode: '', city: '', country: null },
        birthday: null, language: null, tags: [],
      },
      consent: null, note: '',
    },
    key: crypto.randomUUID(),
  });
  await invoke('customer_create', other('Paul', 'Durand', '07 98 76 54 32'));
  await invoke('customer_create', other('Zoé', 'Martin', ''));
  await go('#/customers');
  await waitForRows(['Paul Durand', 'Élodie Lefèvre', 'Zoé Martin']);
  await fill('#customer-search', 'elodie');
  await waitForRows(['Élodie Lefèvre']);
  await fill('#customer-search', '0612');
  await waitForRows(['Élodie Lefèvre']);
  await shot('05-search-phone');
});

test('record a sale at the till with the keyboard only and see it in her timeline', async () => {
  await go('#/till');
  await typeInFocused('till-input', 'elodie');
  await waitForText('[data-till-result]', 'Élodie Lefèvre');
  await typeInFocused('till-input', ENTER);
  await waitForText('#till-customer', 'Élodie Lefèvre');
  await typeInFocused('till-amount', '12,50');
  await shot('06-till-amount');
  await typeInFocused('till-amount', ENTER);
  await waitForText('#till-confirmation', '12,50');
  await shot('07-till-confirmation');
  // Ready for the next customer, still without the mouse.
  await typeInFocused('till-input', ESCAPE);

  await go('#/customers');
  await fill('#customer-search', 'lefevre');
  await waitForRows(['Élodie Lefèvre']);
  await (await browser.$('[data-customer-row]')).click();
  await waitForText('#customer-name', 'Élodie Lefèvre');
  await waitForText('[data-timeline-entry]', '12,50');
  await waitForText('#figures', '12,50');
  await shot('08-timeline-with-sale');
});

test('a scanned card number selects the customer at the till', async () => {
  const card = await browser.execute(async () => {
    const { invoke } = window.__TAURI_INTERNALS__;
    const hits = await invoke('customers_search', { query: 'elodie', limit: 1 });
    return hits[0].card_number;
  });
  assert.match(card, /^\d{13}$/);
  await go('#/till');
  await typeInFocused('till-input', card + ENTER);
  await waitForText('#till-customer', 'Élodie Lefèvre');
  await typeInFocused('till-amount', ESCAPE);
});

test('a customer named with an HTML payload shows the payload as text', async () => {
  const payload = '<img src=x onerror=alert(1)>';
  await go('#/customers/new');
  await fill('#first_name', payload);
  await fill('#last_name', 'Test');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', payload);
  const injected = await browser.execute(() => document.querySelectorAll('img[src="x"]').length);
  assert.equal(injected, 0, 'no img element was created from the name');
  await go('#/customers');
  await fill('#customer-search', 'onerror');
  await waitForRows([payload]);
  await shot('09-html-payload-as-text');
});
