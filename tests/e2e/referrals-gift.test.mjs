// End-to-end test of a catalogue gift as a referral reward, in the real window: the baker's
// "Viennoiserie offerte" (a free product of the loyalty catalogue) chosen in the offer editor
// for the friend, its cost asked (refused when missing) and named in the worst case; a
// referrer and two friends at the till; with a zero-day hold each friend is approved at their
// purchase and holds the gift, shown on the customer page; one uses it at the till (no money
// off the ticket), the other receives it from the customer page; the timeline says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, stopApp, browser, ENTER, ESCAPE, shot, go, visible, waitForText, typeInFocused, invoke, fill, applyOptions, pageText } from './harness.mjs';

before(startApp);
after(stopApp);

const plain = (s) => s.replace(/[\u00a0\u202f]/g, ' ');
let lea;
let pastry;
let anneId;
let brunoId;

async function friendAtTill(first, email, code) {
  await go('#/customers');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', `${first} Ami${ENTER}`);
  await visible('#till-new-customer');
  await fill('#till-email', email);
  await fill('#till-referred-by-input', code);
  await (await browser.$('#till-referred-by-input')).addValue(ENTER);
  await waitForText('[data-testid="referrer-found"]', 'Léa Martin');
  await (await browser.$('#till-new-customer button[type="submit"]')).click();
  await visible('#till-customer');
  await (await visible('#till-amount')).setValue('25,00' + ENTER);
  await waitForText('#till-confirmation', first);
  const [found] = await invoke('customers_search', { query: `${first} Ami`, limit: 1 });
  return found.id;
}

test('a free product of the catalogue is chosen for the friend, its cost asked, and named in the worst case', async () => {
  await (await visible('#start-empty', 20_000)).click();
  await visible('#kpis', 20_000);
  const input = {
    name: 'Viennoiserie offerte',
    kind: 'free_product',
    points_cost: 100,
    value: 0,
    stock: null,
    per_customer_limit: null,
    valid_from: null,
    valid_to: null,
    voucher_days: 30,
    active: true,
  };
  pastry = (await invoke('reward_save', { id: null, input, key: 'e2e-gift-reward' })).value;

  await go('#/referrals');
  await visible('#offer-hold');
  await (await visible('#offer-friend-type')).selectByAttribute('value', 'catalogue');
  await (await visible('#offer-friend-catalogue')).selectByVisibleText('Viennoiserie offerte');
  await waitForText('[role="group"] .hint', '30 jours');
  // The cost typed for the previous reward (the reference 10 % voucher's) is not carried over:
  // with none, the gift is refused next to the friend's reward.
  assert.equal(await (await browser.$('#offer-friend-cost')).getValue(), '', 'no cost carried over to the gift');
  await waitForText('[data-error-for="friend_reward"]', 'coûte');
  await browser.execute(() => document.querySelector('#offer-friend-type')?.scrollIntoView());
  await shot('referrals-gift-01-cost-missing');
  await fill('#offer-friend-cost', '1,50');
  await fill('#offer-hold', '0');
  await browser.waitUntil(async () => (await browser.$$('[data-error-for]')).length === 0, { timeout: 5_000, timeoutMsg: 'problems left' });
  await waitForText('[data-testid="worst-case"]', '750,00');
  await shot('referrals-gift-02-gift-chosen');
  await (await browser.$('#save-offer')).click();
  await visible('#offer-saved');
  const v = await invoke('referral_offer_get', {});
  assert.deepEqual(
    v.offer.friend_reward,
    { type: 'catalogue', reward_id: pastry.id, label: 'Viennoiserie offerte', cost_cents: 150, kind: 'free_product' },
    'the offer keeps the gift, its name and its cost',
  );
  const rules = plain(await invoke('referral_reglement', { lang: 'fr' }).then((r) => JSON.stringify(r)));
  assert.match(rules, /Le filleul reçoit « Viennoiserie offerte », un cadeau à retirer en boutique/, 'the printed rules name the gift');
});

test('two friends approved at their purchase each hold the gift, shown on their page', async () => {
  await go('#/customers/new');
  await fill('#first_name', 'Léa');
  await fill('#last_name', 'Martin');
  await fill('#email', 'lea@example.com');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', 'Léa Martin');
  const [found] = await invoke('customers_search', { query: 'Léa Martin', limit: 1 });
  lea = found.id;
  const code = (await invoke('referral_customer', { customer: lea })).code;
  const anne = await friendAtTill('Anne', 'anne@example.com', code);
  const bruno = await friendAtTill('Bruno', 'bruno@example.com', code);
  for (const id of [anne, bruno]) {
    const st = await invoke('loyalty_status', { customer: id });
    assert.deepEqual(
      st.vouchers.map((x) => [x.kind, x.label, x.value]),
      [['gift', 'Viennoiserie offerte', 150]],
      'each friend holds exactly one gift voucher',
    );
  }
  await go(`#/customers/${anne}`);
  await waitForText('#loyalty-vouchers', 'Viennoiserie offerte');
  await browser.execute(() => document.querySelector('#loyalty-vouchers')?.scrollIntoView());
  await shot('referrals-gift-03-customer-page');
  anneId = anne;
  brunoId = bruno;
});

test('at the till the gift is used with a sale, and nothing comes off the ticket', async () => {
  const st = await invoke('customer_get', { id: anneId });
  await go('#/customers');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', st.card_number + ENTER);
  await waitForText('#till-customer', 'Anne Ami');
  const select = await visible('#till-apply');
  const options = (await applyOptions()).filter(([value]) => value !== '');
  assert.equal(options.length, 1, `one thing to use: ${JSON.stringify(options)}`);
  assert.match(options[0][1], /Viennoiserie offerte/, 'the till names the gift');
  await select.selectByAttribute('value', options[0][0]);
  await shot('referrals-gift-04-till');
  await (await browser.$('#till-amount')).setValue('12,00' + ENTER);
  await waitForText('#till-confirmation', '12,00');
  const after = await invoke('loyalty_status', { customer: anneId });
  assert.equal(after.vouchers.length, 0, 'the gift is used');
  const confirmation = plain(await (await browser.$('#till-confirmation')).getText());
  assert.match(confirmation, /12,00 €/, `the ticket was recorded at its full price: ${confirmation}`);
  assert.match(confirmation, /Cadeau remis : Viennoiserie offerte/, `the confirmation names the gift handed over: ${confirmation}`);
  await shot('referrals-gift-05-till-done');
});

test('from the customer page the gift is handed over without a sale, and the timeline says who', async () => {
  await go(`#/customers/${brunoId}`);
  await waitForText('#loyalty-vouchers', 'Viennoiserie offerte');
  await fill('#gift-staff', 'Marie');
  const button = await visible('#gift-hand-over [data-gift]');
  await button.scrollIntoView();
  await button.click();
  await (await visible('#gift-hand-over [data-gift-confirm]')).click();
  await waitForText('#gift-done', 'Viennoiserie offerte');
  await browser.execute(() => document.querySelector('#loyalty')?.scrollIntoView());
  await shot('referrals-gift-06-handed-over');
  const after = await invoke('loyalty_status', { customer: brunoId });
  assert.equal(after.vouchers.length, 0, 'the gift is used');
  const text = plain(await pageText());
  assert.match(text, /remis par Marie : Viennoiserie offerte/, 'the timeline names the gift and who handed it over');
  const counters = (await invoke('referral_overview', {})).counters;
  assert.equal(counters.used_count, 2, 'both gifts count as used');
  assert.equal(counters.committed_cents, 150 + 150 + 500, "two gifts of 1,50 € and Léa's 5 € milestone count against the budget");
});
