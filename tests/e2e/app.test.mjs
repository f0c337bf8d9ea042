// End-to-end tests of the real Comptoir window: the built app under Xvfb, driven through
// tauri-driver and WebKitWebDriver. Run by `cargo xtask test` (or `cargo xtask e2e` once the
// app is built). This suite starts the app on a fresh, empty database file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, stopApp, browser, ENTER, ESCAPE, shot, go, visible, waitForText, typeInFocused, waitForRows, invoke, fill, applyOptions, texts } from './harness.mjs';

before(startApp);
after(stopApp);

test('first run opens on a French interface and starts an empty customer file', async () => {
  await visible('#start-empty', 20_000);
  const body = await browser.$('body').getText();
  assert.match(body, /Commencer avec un fichier vide/, 'the welcome screen speaks French');
  await shot('01-first-run');
  await (await browser.$('#start-empty')).click();
  // The file opens on the dashboard, the home screen; then the customers.
  await visible('#kpis', 20_000);
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

test('a possible duplicate is flagged at entry, then merged keeping every purchase', async () => {
  await go('#/customers/new');
  await fill('#first_name', 'Elodie');
  await fill('#last_name', 'Lefevre');
  await fill('#phone', '+33 6 12 34 56 78');
  await waitForText('#duplicate-warning', 'Élodie Lefèvre');
  await shot('16-duplicate-warning');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', 'Elodie Lefevre');

  await (await visible('#merge-customer')).click();
  await fill('#merge-search', 'lefèvre');
  await waitForText('dialog .pick', 'Élodie Lefèvre');
  await (await browser.$('dialog .pick')).click();
  await waitForText('#merge-confirm-text', 'Élodie Lefèvre');
  await shot('17-merge-confirm');
  await (await browser.$('#merge-confirm')).click();
  // The kept record now carries the other's sale and says where it came from.
  await waitForText('#figures', '12,50');
  await waitForText('[data-timeline-entry]', 'Élodie Lefèvre');
  await shot('18-merged');
});

test('set up a programme, earn at the till until a reward unlocks, use it, refund a sale and see the balance follow', async () => {
  // The merchant sets up 1 point per euro and a coffee card of 3 stamps (the "Programme" tab).
  await go('#/loyalty');
  await (await visible('#loyalty-tab-programme')).click();
  await (await visible('#points-enabled')).click();
  await (await visible('#stamps-enabled')).click();
  await (await visible('#add-milestone')).click();
  await fill('#milestone-stamps-0', '3');
  await fill('#milestone-label-0', 'Café offert');
  await shot('23-programme');
  await (await browser.$('#save-programme')).click();
  await visible('#programme-saved');

  const [zoe] = await invoke('customers_search', { query: 'zoé martin', limit: 1 });
  const visit = async (amount) => {
    await go('#/till');
    await typeInFocused('till-input', ESCAPE);
    await typeInFocused('till-input', zoe.card_number + ENTER);
    await waitForText('#till-customer', 'Zoé Martin');
    await visible('#till-loyalty');
    await typeInFocused('till-amount', amount + ENTER);
    await waitForText('#till-confirmation', 'Zoé Martin');
  };
  await visit('4,50');
  await waitForText('#till-earned', '+4 points, +1 tampon');
  await visit('3,60');
  await waitForText('#till-earned', '+4 points, +1 tampon', 10_000); // 0,50 + 3,60 = 4,10 € carried: 4 points
  await visit('2,00');
  await waitForText('#till-earned', '+2 points, +1 tampon');
  await shot('24-reward-unlocked');

  // Fourth visit: the free coffee is offered and used in the same sale.
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', zoe.card_number + ENTER);
  await waitForText('#till-loyalty', '10');
  const select = await visible('#till-apply');
  const options = await applyOptions();
  const coffee = options.find(([, label]) => label.includes('Café offert'));
  assert.ok(coffee, `the unlocked reward is offered: ${JSON.stringify(options)}`);
  await select.selectByAttribute('value', coffee[0]);
  await (await browser.$('#till-amount')).setValue('1,20' + ENTER);
  await waitForText('#till-confirmation', '1,20');
  const afterCoffee = await invoke('loyalty_status', { customer: zoe.id });
  assert.equal(afterCoffee.stamps, 1, 'the full card was used; this visit starts the next one');
  assert.equal(afterCoffee.points, 11, '4 + 4 + 2 + 1 points');

  // Refund the first sale from her page: its 4 points go, the balance follows.
  await go(`#/customers/${zoe.id}`);
  await waitForText('#loyalty-points', '11');
  const refundButtons = await browser.$$('#timeline button.small');
  await refundButtons[refundButtons.length - 1].click(); // the oldest sale is last
  await (await visible('#timeline form button[type="submit"]')).click();
  await waitForText('#loyalty-points', '7');
  await shot('25-refund-balance');
  const afterRefund = await invoke('loyalty_status', { customer: zoe.id });
  assert.equal(afterRefund.points, 7, 'the refund took back exactly the 4 points of that sale');
  // The timeline tells the card's story in words.
  await waitForText('[data-timeline-entry]', 'Carte complète utilisée : Café offert (3 tampons)');
  await waitForText('[data-timeline-entry]', 'Carte de fidélité : +1 tampon(s)');
  await waitForText('[data-timeline-entry]', 'Carte de fidélité : 1 tampon(s) repris (vente remboursée)');
});

test('a goodwill gesture carries a reason and the staff member, and the card prints', async () => {
  const [zoe] = await invoke('customers_search', { query: 'zoé martin', limit: 1 });
  await go(`#/customers/${zoe.id}`);
  await waitForText('#loyalty-points', '7');
  await fill('#adjust-points', '5');
  await (await browser.$('#adjust-save')).click();
  await waitForText('#gesture-error', 'obligatoire'); // no reason, no gesture
  await fill('#gesture-staff', 'Marie');
  await fill('#adjust-reason', 'Geste commercial');
  await (await browser.$('#adjust-save')).click();
  await visible('#gesture-done');
  await waitForText('#loyalty-points', '12');
  await waitForText('[data-timeline-entry]', 'Geste commercial');
  await (await visible('#print-card')).click();
  await waitForText('[data-printable-card]', 'Zoé Martin');
  const bars = await browser.execute(() => document.querySelectorAll('#card-sheet svg.barcode rect').length);
  assert.ok(bars > 20, `the barcode is drawn (${bars} bars)`);
  await shot('26-card-sheet');
});

test('a reward that is not a discount is given from the customer page, once, after a confirmation', async () => {
  const [zoe] = await invoke('customers_search', { query: 'zoé martin', limit: 1 });
  const reward = {
    name: "Visite de l'atelier <b>torréfaction</b>", kind: 'experience', points_cost: 5, value: 0, stock: null,
    per_customer_limit: null, valid_from: null, valid_to: null, voucher_days: 90, active: true,
  };
  await invoke('reward_save', { id: null, input: reward, key: crypto.randomUUID() });
  await go(`#/customers/${zoe.id}`);
  await waitForText('#loyalty-points', '12');
  const select = await visible('#give-reward');
  const options = await browser.execute(() => Array.from(document.querySelectorAll('#give-reward option')).map((o) => [o.value, o.textContent]));
  const visit = options.find(([, label]) => label.includes('torréfaction'));
  assert.ok(visit, `the experience is offered: ${JSON.stringify(options)}`);
  await select.selectByAttribute('value', visit[0]);
  await (await browser.$('#give-reward-save')).click();
  await waitForText('#give-reward-question', '5 points seront utilisés');
  await shot('26b-give-reward-confirm');
  await (await browser.$('#give-reward-confirm')).click();
  await waitForText('#gesture-done', 'donné');
  await waitForText('#loyalty-points', '7');
  await waitForText('#loyalty-ledger', '<b>torréfaction</b>'); // the name stays text
  await waitForText('[data-timeline-entry]', '<b>torréfaction</b>');
  const status = await invoke('loyalty_status', { customer: zoe.id });
  assert.equal(status.points, 7, 'given once: 12 − 5');
  assert.equal(await browser.execute(() => document.querySelectorAll('#loyalty-ledger b').length), 0, 'no markup from a name');
});

/** A date input's value as a user's picker sets it (typing into one depends on the locale). */
async function setDate(selector, value) {
  await visible(selector);
  await browser.execute((sel, v) => {
    const el = document.querySelector(sel);
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, selector, value);
}

test('the loyalty screen is in tabs a keyboard can use; unusual activity reads a past day or week', async () => {
  await go('#/loyalty');
  const overview = await visible('#loyalty-tab-overview');
  assert.equal(await overview.getAttribute('aria-selected'), 'true', 'the overview comes first');
  assert.equal(await browser.execute(() => document.querySelectorAll('[role="tablist"] [role="tab"]').length), 4);
  await overview.click();
  await browser.keys(['ArrowRight']);
  const focused = async () => browser.execute(() => document.activeElement?.id);
  await browser.waitUntil(async () => (await focused()) === 'loyalty-tab-programme', { timeoutMsg: 'the arrow moves to Programme' });
  assert.equal(await (await browser.$('#loyalty-tab-programme')).getAttribute('aria-selected'), 'true');
  await visible('#points-enabled');
  await browser.keys(['End']);
  await browser.waitUntil(async () => (await focused()) === 'loyalty-tab-vouchers', { timeoutMsg: 'End goes to the last tab' });
  await visible('#paper-voucher-value');
  const panel = await browser.$('[role="tabpanel"]');
  assert.equal(await panel.getAttribute('aria-labelledby'), 'loyalty-tab-vouchers', 'the panel is labelled by its tab');
  await browser.keys(['ArrowRight']);
  await browser.waitUntil(async () => (await focused()) === 'loyalty-tab-overview', { timeoutMsg: 'the arrows wrap around' });
  await browser.keys(['Home']);
  assert.equal(await focused(), 'loyalty-tab-overview');

  // Zoé had many loyalty operations today: today's list has her; a day long ago is quiet.
  await waitForText('[data-suspicious-row]', 'Zoé Martin');
  await setDate('#suspicious-day', '2020-03-04');
  await visible('#suspicious-empty');
  await waitForText('#suspicious-range', '2020');
  const today = await browser.execute(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await setDate('#suspicious-day', today);
  await (await browser.$('#suspicious-period')).selectByAttribute('value', 'week');
  await waitForText('#suspicious-range', 'Du ');
  await waitForText('[data-suspicious-row]', 'Zoé Martin');
  await shot('26c-loyalty-tabs-suspicious-week');
});

test('a paper voucher is created, typed at the till, and used once; the logo prints on the card', async () => {
  await go('#/loyalty');
  await (await visible('#loyalty-tab-vouchers')).click();
  await fill('#paper-voucher-value', '5');
  await fill('#paper-voucher-reason', 'Tombola du marché');
  await fill('#paper-voucher-staff', 'Marie');
  await (await browser.$('#paper-voucher-save')).click();
  await visible('[data-paper-voucher]');
  const code = (await texts('[data-paper-voucher] .code'))[0];
  assert.match(code, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/, 'a code without look-alike characters');

  const [zoe] = await invoke('customers_search', { query: 'zoé martin', limit: 1 });
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', zoe.card_number + ENTER);
  await waitForText('#till-customer', 'Zoé Martin');
  await fill('#till-voucher-code', code.toLowerCase());
  await (await browser.$('#till-amount')).setValue('12' + ENTER);
  await waitForText('#till-confirmation', '7,00');
  await typeInFocused('till-input', zoe.card_number + ENTER);
  await waitForText('#till-customer', 'Zoé Martin');
  await fill('#till-voucher-code', code);
  await (await browser.$('#till-amount')).setValue('12' + ENTER);
  await waitForText('#till-error', 'déjà été utilisé');

  // A 5 € voucher: refused on a 2.50 € coffee (the rest would be lost), used in full on a 5 €
  // ticket, which is then recorded at zero.
  await (await browser.$('#till-input')).click();
  const expires = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const coffee = await invoke('voucher_issue', {
    input: { customer_id: zoe.id, kind: 'amount', value: 500, expires_at: expires, reason: 'Café offert', staff: 'Marie' },
    key: crypto.randomUUID(),
  });
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', zoe.card_number + ENTER);
  await waitForText('#till-customer', 'Zoé Martin');
  await fill('#till-voucher-code', coffee.value.code);
  await (await browser.$('#till-amount')).setValue('2,50' + ENTER);
  await waitForText('#till-error', 'vaut plus que le ticket');
  await fill('#till-voucher-code', coffee.value.code);
  await fill('#till-amount', '5,00');
  await (await browser.$('#till-amount')).addValue(ENTER);
  await waitForText('#till-confirmation', 'rien à encaisser');
  await shot('27a-till-free-coffee');
  const history = await invoke('customer_timeline', { id: zoe.id, limit: 50 });
  assert.ok(history.some((e) => e.type === 'sale' && e.amount_cents === 0), 'a sale at zero is in her history');
  assert.ok(history.some((e) => e.type === 'voucher_used' && e.code === coffee.value.code), 'and the voucher it used');

  // A 1×1 PNG as the shop's logo, then the card sheet shows it.
  const png = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  await invoke('settings_logo', { logo: png, key: crypto.randomUUID() });
  const bad = await browser.execute(async () => {
    try {
      await window.__TAURI_INTERNALS__.invoke('settings_logo', { logo: 'data:image/svg+xml;base64,PHN2Zz4=', key: crypto.randomUUID() });
      return 'accepted';
    } catch (e) {
      return e.code;
    }
  });
  assert.equal(bad, 'validation', 'an SVG logo is refused');
  await go('#/settings');
  await visible('#logo-preview');
  await go(`#/cards/print?ids=${zoe.id}`);
  await visible('#card-sheet img.logo');
  await shot('27-card-with-logo');

  // The rules for the counter, generated from the programme.
  await go('#/loyalty/rules');
  await waitForText('#rules', 'Café offert');
  await waitForText('#rules', 'sans minimum');
  await shot('28-rules');
});
