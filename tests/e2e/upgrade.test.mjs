// End-to-end: a shop's older customer file (written with the schema of version 18, 400,000
// customers with a sale each) is upgraded when this app opens it. The upgrade runs on a thread
// of its own: the window shows a screen that says what is happening instead of staying blank,
// then opens on the dashboard with every customer, and the copy of the old file is beside it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { startApp, stopApp, browser, shot, visible, invoke, dataFolder, CLI } from './harness.mjs';
import { audit } from './axe.mjs';

const CUSTOMERS = 400_000;

after(stopApp);

test('an older file is upgraded behind a screen that says so, then opens on the dashboard with every customer', async () => {
  await startApp({
    prepare: (db) => execFileSync(CLI, ['--db', db, 'old-file', '--version', '18', '--customers', String(CUSTOMERS)]),
  });
  const screen = await visible('[data-testid=upgrade-screen]', 30_000);
  const text = await screen.getText();
  assert.match(text, /Mise à jour de votre fichier client/, 'the screen says, in French, that the file is being updated');
  assert.match(text, /rien n'est perdu/, 'and that nothing can be lost');
  await browser.waitUntil(async () => (await browser.$('[data-testid=upgrade-screen] [aria-current=step]')).isExisting(), {
    timeout: 10_000,
    timeoutMsg: 'no step of the upgrade was ever shown as the current one',
  });
  const now = await screen.getText();
  assert.match(now, /Étape en cours : (Copie de sécurité de votre fichier|Vérification de la copie|Mise à jour du fichier)/, 'the current step is said in words');
  assert.match(now, /Depuis \d+ s/, 'with how long it has been running');
  await shot('upgrade-01-screen');
  // The WCAG rules on this screen too (the accessibility suite never sees it): while it is
  // still the one shown, checked after the run.
  const t0 = Date.now();
  await audit('upgrade', { settle: 0 });
  assert.ok(await browser.$('[data-testid=upgrade-screen]').isExisting(), 'the audit ran on the upgrade screen, still shown');
  console.log(`axe on the upgrade screen: ${Date.now() - t0} ms`);
  // The app opens by itself once the upgrade is over.
  const t1 = Date.now();
  await visible('#kpis', 180_000);
  console.log(`the dashboard came ${Date.now() - t1} ms after the audit`);
  assert.equal(await browser.$('[data-testid=upgrade-screen]').isExisting(), false, 'the upgrade screen has gone');
  const stats = await invoke('stats_get');
  assert.equal(stats.customers_active, CUSTOMERS, 'every customer came through the upgrade');
  assert.equal(stats.sales, CUSTOMERS, 'and every sale');
  const copies = readdirSync(dataFolder()).filter((f) => /^shop\.db\.v18-\d{8}T\d{6}Z\.bak$/.test(f));
  assert.equal(copies.length, 1, `one copy of the old file beside it: ${readdirSync(dataFolder()).join(', ')}`);
  await shot('upgrade-02-dashboard');
});
