// End-to-end: every screen of the real window, on the demo shop, checked against the WCAG 2.1
// A and AA rules that can be checked by a program (axe-core, run inside the page): names of
// buttons, fields and links, contrast, headings, landmarks, ARIA used as specified, the
// document's language. A screen's violations fail the test with the rule, the element and
// what axe says to fix. (What a program cannot judge, a merchant with a screen reader still
// has to try: reading order, focus after an action, the till with the keyboard only — those
// are in the other tests.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp, stopApp, browser, go, visible, invoke, pageText } from './harness.mjs';
import { audit } from './axe.mjs';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../src-tauri/core/tests/fixtures/import');

before(startApp);
after(stopApp);

test('the first-run screen', async () => {
  await visible('#start-demo', 20_000);
  await audit('first-run');
});

test('every screen of the demo shop, in French', async () => {
  await (await browser.$('#start-demo')).click();
  await visible('#kpis', 60_000);
  const customers = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  const id = customers.items[0].id;
  const campaigns = await invoke('campaigns_list', {});
  const automations = await invoke('automations_list', {});
  const screens = [
    ['dashboard', '#/'],
    ['numbers-nps', '#/numbers/nps'],
    ['numbers-settings', '#/numbers/settings'],
    ['numbers-report', '#/numbers/report'],
    ['customers', '#/customers'],
    ['customer', `#/customers/${id}`],
    ['customer-edit', `#/customers/${id}/edit`],
    ['customer-new', '#/customers/new'],
    ['import', '#/customers/import'],
    ['export', '#/customers/export'],
    ['till', '#/till'],
    ['till-customer', `#/till?customer=${id}`],
    ['loyalty', '#/loyalty'],
    ['loyalty-rules', '#/loyalty/rules'],
    ['cards-print', `#/cards/print?ids=${id}`],
    ['referrals', '#/referrals'],
    ['referrals-rules', '#/referrals/rules'],
    ['referrals-notice', '#/referrals/notice'],
    ['campaigns', '#/campaigns'],
    ['campaign-new', '#/campaigns/new'],
    ...(campaigns.length ? [['campaign', `#/campaigns/${campaigns[0].id}`]] : []),
    ['campaigns-settings', '#/campaigns/settings'],
    ['campaigns-unsubscribes', '#/campaigns/unsubscribes'],
    ['campaigns-returns', '#/campaigns/returns'],
    ['automations', '#/campaigns/automations'],
    ...(automations.length ? [['automation', `#/campaigns/automations/${automations[0].id}`]] : []),
    ['settings', '#/settings'],
    ['backups', '#/settings/backups'],
  ];
  const failures = [];
  for (const [name, hash] of screens) {
    await go(hash);
    try {
      await audit(name);
    } catch (e) {
      failures.push(e.message);
    }
  }
  // The tabs that appear with a second version (A/B) and an English message: focus goes to the
  // new tab, and the tab lists are checked too.
  const focused = () => browser.execute(() => document.activeElement?.id ?? '');
  await go('#/campaigns/new');
  await (await visible('[data-testid="campaign-add-b"]')).click();
  await browser.waitUntil(async () => (await focused()) === 'version-tab-b', { timeout: 5_000, timeoutMsg: 'focus did not move to version B' });
  try {
    await audit('campaign-new-ab');
  } catch (e) {
    failures.push(e.message);
  }
  if (automations.length) {
    await go(`#/campaigns/automations/${automations[0].id}`);
    const add = await browser.$('#auto-en-add');
    if (await add.isExisting()) {
      await add.click();
      await browser.waitUntil(async () => (await focused()) === 'auto-tab-en', { timeout: 5_000, timeoutMsg: 'focus did not move to the English tab' });
      try {
        await audit('automation-english');
      } catch (e) {
        failures.push(e.message);
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n\n'));
});

test('the import wizard at each step: mapping, preview, report', async () => {
  await go('#/customers/import');
  const input = await browser.$('[data-testid="import-file"]');
  await input.waitForExist({ timeout: 10_000 });
  await input.addValue(join(FIXTURES, 'excel-fr-windows1252.csv'));
  await visible('[data-testid="import-mapping"]', 20_000);
  await audit('import-mapping');
  await (await visible('[data-testid="import-next"]')).click();
  await audit('import-options');
  await (await visible('[data-testid="bad-skip"]')).click();
  await (await visible('[data-testid="import-preview"]')).click();
  await visible('[data-testid="preview-counts"]', 30_000);
  await audit('import-preview');
  await (await visible('[data-testid="import-run"]')).click();
  await visible('[data-testid="import-done"]', 60_000);
  await audit('import-report');
});

test('the main screens in English', async () => {
  await go('#/settings');
  await (await visible('#locale')).selectByAttribute('value', 'en');
  await (await browser.$('#save-settings')).click();
  await browser.waitUntil(async () => (await pageText()).includes('Customers'), {
    timeout: 10_000,
    timeoutMsg: 'the interface never switched to English',
  });
  const lang = await browser.execute(() => document.documentElement.lang);
  assert.equal(lang, 'en', 'the document says its language, for screen readers');
  const failures = [];
  for (const [name, hash] of [['en-dashboard', '#/'], ['en-customers', '#/customers'], ['en-till', '#/till'], ['en-backups', '#/settings/backups']]) {
    await go(hash);
    try {
      await audit(name);
    } catch (e) {
      failures.push(e.message);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n\n'));
});
