// End-to-end: a newcomer explores the demo shop in the real window, in French then English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, stopApp, browser, ENTER, ESCAPE, shot, go, visible, waitForText, typeInFocused, invoke, fill, pageText, texts, applyOptions } from './harness.mjs';

before(startApp);
after(stopApp);

test('the first-run choice loads the demo shop and lists its customers by pages', async () => {
  await (await visible('#start-demo', 20_000)).click();
  // The demo opens on the dashboard, the home screen.
  await visible('#kpis', 60_000);
  await go('#/customers');
  await browser.waitUntil(async () => (await browser.$$('[data-customer-row]')).length === 50, {
    timeout: 30_000,
    timeoutMsg: 'the first page of 50 customers never appeared',
  });
  await shot('10-demo-customers');
  await (await visible('#load-more')).click();
  await browser.waitUntil(async () => (await browser.$$('[data-customer-row]')).length === 100, {
    timeout: 10_000,
    timeoutMsg: '"load more" did not add the next page',
  });
});

test('sorting by total spent puts the best customer first', async () => {
  const best = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  await (await visible('#customer-sort')).selectByAttribute('value', 'total_spent');
  await waitForText('[data-customer-row]', best.items[0].display_name);
  const first = await (await browser.$('[data-customer-row]')).getText();
  assert.ok(first.includes(best.items[0].display_name), `first row ${first} is the biggest spender`);
  await shot('11-sorted-by-spend');
});

test('a sheet of cards prints for the customers listed', async () => {
  await go('#/customers');
  const link = await visible('#print-cards');
  // The customers listed (the first page, in the list's order), and those of them with a card:
  // the sheet shows exactly those (the demo gives a card to the regulars only).
  const ids = new URL((await link.getAttribute('href')).replace('#', 'x:/'), 'x:/').searchParams.get('ids').split(',').map(Number);
  assert.equal(ids.length, 50, 'the first page is listed');
  let withCard = 0;
  for (const id of ids) {
    if ((await invoke('customer_get', { id })).card_number) withCard += 1;
  }
  assert.ok(withCard > 0, 'some of them have a card');
  await link.click();
  await browser.waitUntil(async () => (await browser.$$('[data-printable-card]')).length === withCard, {
    timeout: 20_000,
    timeoutMsg: `the sheet never showed the ${withCard} cards of the listed customers`,
  });
  await shot('29-card-sheet-page');
});

test('the dashboard shows the real figures of the file', async () => {
  const stats = await invoke('stats_get', {});
  assert.equal(stats.customers_active, 1200);
  const d = await invoke('numbers_dashboard', { req: { grain: 'month', until: null } });
  await go('#/dashboard');
  const sales = new Intl.NumberFormat('fr-FR').format(d.current.sales).replace(/[\u00a0\u202f]/g, ' ');
  await browser.waitUntil(async () => (await pageText()).includes(sales), {
    timeout: 10_000,
    timeoutMsg: `the dashboard never showed the ${sales} sales of the last 12 months`,
  });
  await shot('12-dashboard');
});

test('the Parrainage tab runs the reference offer on the demo shop: every status, some to review, a milestone nearly full', async () => {
  const o = await invoke('referral_overview', {});
  const total = o.by_status.reduce((n, s) => n + s.count, 0);
  assert.ok(total >= 140 && total <= 160, `about 150 referrals, not ${total}`);
  for (const s of ['pending', 'qualified', 'approved', 'voided', 'rejected', 'outside_offer']) {
    assert.ok(o.by_status.find((c) => c.status === s)?.count > 0, `some referrals are ${s}`);
  }
  assert.ok(o.to_review > 0, 'a few flagged referrals wait in the review queue');
  assert.ok(o.counters.milestones.some((m) => m.remaining !== null && m.remaining <= 4), 'one milestone is close to running out');
  await go('#/referrals');
  await waitForText('#referral-counters', 'il en reste');
  await visible('[data-testid="review-item"]');
  const text = await pageText();
  assert.doesNotMatch(text, /bientôt|coming soon/i, 'the tab is the real screen');
  await shot('30-demo-referrals');
});

test('the demo shop writes to reserved addresses only and never sends through a real provider', async () => {
  const page = await invoke('customers_list', { req: { sort: 'name', archived: false, after: null, limit: 200 } });
  const emails = page.items.map((c) => c.email).filter(Boolean);
  assert.ok(emails.length > 50, 'demo customers have addresses');
  for (const e of emails) {
    assert.match(e, /@(example\.(com|org|net)|[^@]+\.(test|invalid|example))$/, `${e} is on a reserved domain`);
  }
  await go('#/campaigns/settings');
  await visible('[data-testid="mail-demo-notice"]');
  await shot('14-demo-mail-settings');
});

test('a customer of the demo shop has figures and a timeline', async () => {
  const best = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  await go(`#/customers/${best.items[0].id}`);
  await waitForText('#customer-name', best.items[0].display_name);
  await browser.waitUntil(async () => (await browser.$$('[data-timeline-entry]')).length > 5, { timeout: 10_000 });
  await shot('13-demo-customer');
});

test('the till shows search results as the phone is typed', async () => {
  await go('#/till');
  await typeInFocused('till-input', '06');
  await browser.waitUntil(async () => (await browser.$$('[data-till-result]')).length > 0, { timeout: 10_000 });
  await shot('14-till-results');
});

test('a scanned card shows the loyalty balance at the till and the sale says what it earned', async () => {
  const best = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  const who = best.items[0];
  const before = await invoke('loyalty_status', { customer: who.id });
  const lastEntry = (await invoke('loyalty_ledger', { customer: who.id, limit: 1 }))[0]?.id ?? 0;
  assert.ok(before.programme_active, 'the demo shop comes with a programme');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE); // clear what the previous test typed
  await typeInFocused('till-input', who.card_number + ENTER);
  await waitForText('#till-customer', who.display_name);
  await browser.waitUntil(async () => (await texts('#loyalty-points')).some((t) => t.replace(/\D/g, '') === String(before.points)), {
    timeout: 10_000,
    timeoutMsg: `the till never showed the balance of ${before.points} points`,
  });
  await shot('19-till-loyalty');
  await typeInFocused('till-amount', '20' + ENTER);
  await waitForText('#till-confirmation', who.display_name);
  const lastSale = (await invoke('customer_timeline', { id: who.id, limit: 10 })).find((e) => e.type === 'sale');
  const earning = await invoke('loyalty_sale_earning', { purchase: lastSale.purchase_id });
  assert.ok(earning.points >= 20, `20 € at 1 point per euro (times the tier) earns at least 20 points, got ${earning.points}`);
  const after = await invoke('loyalty_status', { customer: who.id });
  // The demo shop's background work (a referral approved when its hold ends, points expiring)
  // may also write to this customer's ledger meanwhile: the sale's own entry is exactly what it
  // earned, and the balance moved by exactly the entries written since, nothing unaccounted.
  const since = (await invoke('loyalty_ledger', { customer: who.id, limit: 50 })).filter((e) => e.id > lastEntry);
  const ofSale = since.filter((e) => e.kind === 'earn' && e.purchase_id === lastSale.purchase_id);
  assert.equal(ofSale.reduce((n, e) => n + e.points, 0), earning.points, `the sale's entry is what it earned: ${JSON.stringify(since)}`);
  assert.equal(after.points - before.points, since.reduce((n, e) => n + e.points, 0), `the balance moved by the entries written: ${JSON.stringify(since)}`);
  const gained = earning.points;
  await waitForText('#till-earned', `+${gained} points`);
  await shot('20-till-earned');

  await go(`#/customers/${who.id}`);
  await waitForText('#loyalty-ledger', `+${gained}`);
  await shot('21-customer-loyalty');
});

test('a sale that takes a customer to a higher tier says so at the till', async () => {
  // A new customer of the demo shop (tiers Bronze from 0, Argent from 300 €, Or from 800 €):
  // a first sale of 850 € reaches Or, and the confirmation names the tier.
  const created = await invoke('customer_create', {
    input: {
      customer: {
        first_name: 'Inès', last_name: 'Palier', email: 'ines.palier@example.test', phone: '',
        address: { line1: '', line2: '', postcode: '', city: '', country: null },
        birthday: null, language: null, tags: [],
      },
      consent: null, note: '',
    },
    key: crypto.randomUUID(),
  });
  const ines = await invoke('customer_get', { id: created.value });
  const before = await invoke('loyalty_status', { customer: ines.id });
  assert.notEqual(before.tier?.name, 'Or', 'a new customer does not hold the top tier');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', ines.card_number + ENTER);
  await waitForText('#till-customer', 'Inès Palier');
  await visible('#till-loyalty');
  await typeInFocused('till-amount', '850' + ENTER);
  await waitForText('#till-confirmation', 'Inès Palier');
  await waitForText('#till-earned', 'Nouveau palier : Or');
  const after = await invoke('loyalty_status', { customer: ines.id });
  assert.equal(after.tier?.name, 'Or', 'the sale reached the top tier');
  await shot('20b-till-tier-reached');
  const firstSale = (await texts('#till-earned')).join(' ');

  // The next sale, in the tier she now holds, announces nothing new.
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', ines.card_number + ENTER);
  await waitForText('#till-customer', 'Inès Palier');
  await visible('#till-loyalty');
  await typeInFocused('till-amount', '5' + ENTER);
  // The till may still show the first sale's confirmation for a moment: wait for the new one.
  await browser.waitUntil(async () => (await texts('#till-earned')).join(' ') !== firstSale, {
    timeout: 10_000,
    timeoutMsg: 'the till still shows the first sale',
  });
  await waitForText('#till-earned', 'points');
  const earned = (await texts('#till-earned')).join(' ');
  assert.ok(!earned.includes('palier'), `no new tier on the next sale: ${earned}`);
});

test('a reward is used in the same sale at the till and the ticket shows the discount', async () => {
  const best = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  const who = best.items[0];
  const before = await invoke('loyalty_status', { customer: who.id });
  const ledgerBefore = new Set((await invoke('loyalty_ledger', { customer: who.id, limit: 1000 })).map((e) => e.id));
  const salesBefore = new Set(
    (await invoke('customer_timeline', { id: who.id, limit: 1000 })).filter((e) => e.type === 'sale').map((e) => e.purchase_id),
  );
  const offer = before.rewards.find((r) => r.affordable && r.reward.kind === 'percent_discount');
  assert.ok(offer, 'the best customer can afford the -10 % reward of the demo shop');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', who.card_number + ENTER);
  await waitForText('#till-customer', who.display_name);
  const select = await visible('#till-apply');
  const options = await applyOptions();
  const chosen = options.find(([, label]) => label.includes(offer.reward.name));
  assert.ok(chosen, `the reward is offered at the till: ${JSON.stringify(options)}`);
  await select.selectByAttribute('value', chosen[0]);
  await (await browser.$('#till-amount')).setValue('20' + ENTER);
  await waitForText('#till-confirmation', '18,00');
  await shot('22-till-reward-used');
  const after = await invoke('loyalty_status', { customer: who.id });
  // The sale just made (a demo sale of the same day may sort beside it).
  const lastSale = (await invoke('customer_timeline', { id: who.id, limit: 1000 })).find(
    (e) => e.type === 'sale' && !salesBefore.has(e.purchase_id),
  );
  assert.ok(lastSale, 'the sale is in the customer timeline');
  const earning = await invoke('loyalty_sale_earning', { purchase: lastSale.purchase_id });
  // Points given besides the sale's earning and the reward's cost are counted apart, by their
  // ledger entries: a tier's entry reward (the demo's Or gives 50, once, when a sale takes the
  // customer there; CI once saw 50 more than the earning) or the app's background work.
  const added = (await invoke('loyalty_ledger', { customer: who.id, limit: 1000 })).filter((e) => !ledgerBefore.has(e.id));
  const meanwhile = added
    .filter((e) => e.kind !== 'redeem' && e.purchase_id !== lastSale.purchase_id)
    .reduce((sum, e) => sum + e.points, 0);
  assert.equal(
    after.points,
    before.points - offer.reward.points_cost + earning.points + meanwhile,
    `the reward cost its points, the sale earned on what was paid: ${JSON.stringify(added)}`,
  );
});

test('English can be chosen in the settings and the whole interface follows', async () => {
  await go('#/settings');
  await (await visible('#locale')).selectByAttribute('value', 'en');
  const save = await browser.$('#save-settings');
  await save.click();
  await browser.waitUntil(async () => (await pageText()).includes('Customers'), {
    timeout: 10_000,
    timeoutMsg: 'the navigation never switched to English',
  });
  await go('#/customers');
  await fill('#customer-search', 'zzzzqqq');
  await browser.waitUntil(async () => !(await pageText()).match(/Aucun|Rechercher/), { timeout: 5_000 });
  await shot('15-english');
});
