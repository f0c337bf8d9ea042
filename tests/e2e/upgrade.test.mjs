// End-to-end: a shop's older customer file (written with the schema of version 18) is upgraded
// when this app opens it. The upgrade runs on a thread of its own: the window shows a screen
// that says what is happening instead of staying blank, then opens on the dashboard with every
// customer, and the copy of the old file is beside it. The debug build holds the upgrade before
// its steps while a file named by COMPTOIR_TEST_UPGRADE_HOLD exists, so the screen is checked
// however fast the machine is.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, stopApp, browser, shot, visible, invoke, dataFolder, CLI } from './harness.mjs';
import { audit } from './axe.mjs';

const CUSTOMERS = 3_000;

after(stopApp);

test('an older file is upgraded behind a screen that says so, then opens on the dashboard with every customer', async () => {
  const hold = () => join(dataFolder(), 'upgrade.hold');
  await startApp({
    prepare: (db) => {
      execFileSync(CLI, ['--db', db, 'old-file', '--version', '18', '--customers', String(CUSTOMERS)]);
      writeFileSync(hold(), '');
      return { COMPTOIR_TEST_UPGRADE_HOLD: hold() };
    },
  });
  const screen = await visible('[data-testid=upgrade-screen]', 30_000);
  const text = await screen.getText();
  assert.match(text, /Mise à jour de votre fichier client/, 'the screen says, in French, that the file is being updated');
  assert.match(text, /Laissez Comptoir ouvert/, 'asks to leave the app open');
  assert.match(text, /rien n'est perdu/, 'and says that nothing can be lost');
  // Held before its steps: the copy and its check are done.
  await browser.waitUntil(
    async () => (await browser.$('[data-testid=upgrade-step-upgrading]').getAttribute('aria-current')) === 'step',
    { timeout: 30_000, timeoutMsg: 'the upgrade never reached its steps' },
  );
  const now = await screen.getText();
  assert.match(now, /Étape en cours : Mise à jour du fichier/, 'the current step is said in words');
  assert.match(now, /Depuis \d+ s/, 'with how long it has been running');
  await shot('upgrade-01-screen');
  // The WCAG rules on this screen too (the accessibility suite never sees it).
  await audit('upgrade', { settle: 0 });
  assert.ok(await browser.$('[data-testid=upgrade-screen]').isExisting(), 'the audit ran on the upgrade screen');
  // Let the upgrade go on: the app opens by itself once it is over.
  rmSync(hold());
  await visible('#kpis', 60_000);
  assert.equal(await browser.$('[data-testid=upgrade-screen]').isExisting(), false, 'the upgrade screen has gone');
  const stats = await invoke('stats_get');
  assert.equal(stats.customers_active, CUSTOMERS, 'every customer came through the upgrade');
  assert.equal(stats.sales, CUSTOMERS, 'and every sale');
  const copies = readdirSync(dataFolder()).filter((f) => /^shop\.db\.v18-\d{8}T\d{6}Z\.bak$/.test(f));
  assert.equal(copies.length, 1, `one copy of the old file beside it: ${readdirSync(dataFolder()).join(', ')}`);
  await shot('upgrade-02-dashboard');
});
