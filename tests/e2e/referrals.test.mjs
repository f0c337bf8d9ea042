// End-to-end test of referrals in the real window, the scenario: the reference offer
// (two milestones, 50 places each, €750) with a zero-day hold; a referrer; four friends
// created at the till with her code, one by a scan of her loyalty card; each buys above the
// minimum; she receives exactly the €10 voucher and uses it at the till; a self-referral is
// refused with its reason; a friend at her address is flagged then approved from the review
// queue; a refund during the hold voids that referral; the rules show the offer's figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, stopApp, browser, ENTER, ESCAPE, shot, go, visible, waitForText, typeInFocused, invoke, fill, applyOptions, pageText } from './harness.mjs';

before(startApp);
after(stopApp);

let lea;

async function saveOffer() {
  await (await browser.$('#save-offer')).click();
  await visible('#offer-saved');
}

/** A new customer at the till, referred by what is typed (a code, or a card as a scanner types it). */
async function friendAtTill(first, email, referrerTyped) {
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', `${first} Ami${ENTER}`);
  await visible('#till-new-customer');
  await fill('#till-email', email);
  await fill('#till-referred-by-input', referrerTyped);
  await (await browser.$('#till-referred-by-input')).addValue(ENTER);
  await waitForText('[data-testid="referrer-found"]', 'Léa Martin');
}

async function sell(amount) {
  await visible('#till-customer');
  const who = await (await visible('#till-customer-name')).getText();
  await (await visible('#till-amount')).setValue(amount + ENTER);
  // The confirmation of this sale (the previous customer's one said the same amount).
  await browser.waitUntil(
    async () => {
      const text = await browser.$('#till-confirmation').getText().catch(() => '');
      return text.includes(amount) && text.includes(who);
    },
    { timeout: 10_000, timeoutMsg: `no confirmation of ${amount} for ${who}` },
  );
}

test('the reference offer: its worst case as typed, a budget below one reward refused, then saved', async () => {
  await (await visible('#start-empty', 20_000)).click();
  // The welcome screen opens the home screen (the dashboard) once the choice is saved: go on from there.
  await visible('#kpis', 20_000);
  await go('#/referrals');
  await visible('#offer-hold');
  await waitForText('[data-testid="worst-total"]', '750,00');
  const worst = (await pageText());
  assert.match(worst, /50 × 10,00 € \+ 50 × 5,00 € = 750,00 €/, 'the editor shows 50 × €10 + 50 × €5 = €750');
  await fill('#offer-budget', '3');
  await waitForText('[data-error-for="budget_cents"]', '10,00');
  await shot('referrals-01-budget-too-low');
  await fill('#offer-budget', '750');
  await fill('#offer-hold', '0');
  await fill('#offer-per-day', '10');
  await fill('#offer-per-week', '20');
  await browser.waitUntil(async () => (await browser.$$('[data-error-for]')).length === 0, { timeout: 5_000 });
  await saveOffer();
  await shot('referrals-02-offer-saved');
  const v = await invoke('referral_offer_get', {});
  assert.equal(v.offer.budget_cents, 75000);
  assert.deepEqual(v.offer.milestones.map((m) => [m.referrals, m.slots, m.reward.cents]), [[2, 50, 500], [4, 50, 1000]]);
});

test('a referrer, and four friends at the till — one by a scan of her card — who each buy', async () => {
  await go('#/customers/new');
  await fill('#first_name', 'Léa');
  await fill('#last_name', 'Martin');
  await fill('#email', 'lea@example.com');
  await fill('#address-line1', '12 rue des Lilas');
  await fill('#postcode', '69003');
  await fill('#city', 'Lyon');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', 'Léa Martin');
  await waitForText('[data-testid="referrals-panel"]', 'Code de parrainage');
  const [found] = await invoke('customers_search', { query: 'Léa Martin', limit: 1 });
  lea = await invoke('customer_get', { id: found.id });
  const code = (await invoke('referral_customer', { customer: lea.id })).code;
  // A new customer, no purchase yet: a referrer can still be given.
  await waitForText('#correct-referrer', 'Indiquer un parrain');
  await shot('referrals-03-referrer-page');

  const friends = [['Anne', code], ['Bruno', code.toLowerCase()], ['Chloé', lea.card_number], ['Denis', code.replace('-', ' ')]];
  for (const [first, typed] of friends) {
    await friendAtTill(first, `${first.toLowerCase()}@example.com`, typed);
    if (first === 'Chloé') await shot('referrals-04-friend-by-card-scan');
    await (await browser.$('#till-new-customer button[type="submit"]')).click();
    await sell('25,00');
  }
  await shot('referrals-05-fourth-friend-sale');
  const status = await invoke('referral_customer', { customer: lea.id });
  assert.equal(status.approved, 4, 'a zero-day hold: four approved referrals');
  assert.deepEqual(status.friends.map((f) => f.via).sort(), ['card', 'code', 'code', 'code'], 'one friend came by her card');
});

test('she receives exactly the €10 voucher and uses it at the till', async () => {
  const loyalty = await invoke('loyalty_status', { customer: lea.id });
  assert.deepEqual(loyalty.vouchers.map((v) => [v.kind, v.value]), [['amount', 1000]], 'exactly one €10 voucher');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', lea.card_number + ENTER);
  await waitForText('#till-customer', 'Léa Martin');
  await waitForText('[data-testid="referrals-panel"]', '4 filleuls validés');
  const select = await visible('#till-apply');
  const options = await applyOptions();
  const vouchers = options.filter(([v]) => v !== '');
  assert.equal(vouchers.length, 1, `one thing to use: ${JSON.stringify(options)}`);
  assert.match(vouchers[0][1].replace(/[\u00a0\u202f]/g, ' '), /10,00 €/);
  await shot('referrals-06-referrer-at-till');
  await select.selectByAttribute('value', vouchers[0][0]);
  await (await browser.$('#till-amount')).setValue('30,00' + ENTER);
  await waitForText('#till-confirmation', '20,00');
  const after = await invoke('loyalty_status', { customer: lea.id });
  assert.equal(after.vouchers.length, 0, 'the voucher is used');
  // She has bought now: her page no longer offers a referrer, and says why.
  await go(`#/customers/${lea.id}`);
  await waitForText('[data-testid="link-refused"]', 'déjà acheté');
  assert.equal((await browser.$$('#correct-referrer')).length, 0, 'no « Indiquer un parrain » the core would refuse');
  await browser.execute(() => document.querySelector('[data-testid="referrals-panel"]')?.scrollIntoView());
  await waitForText('[data-testid="link-refused"]', 'déjà acheté');
  await shot('referrals-06b-no-referrer-after-purchase');
});

test('a self-referral is refused with its reason, and nothing is written', async () => {
  await friendAtTill('Léa', 'LEA@example.com', lea.card_number);
  await (await browser.$('#till-new-customer button[type="submit"]')).click();
  await waitForText('[data-error-for="referred_by"]', 'même e-mail');
  await shot('referrals-07-self-referral-refused');
  const found = await invoke('customers_search', { query: 'Léa Ami', limit: 5 });
  assert.equal(found.length, 0, 'the refused customer was not created');
});

test('a mistyped code at the till creates nobody, and a cancelled referrer never reaches the next customer', async () => {
  const code = (await invoke('referral_customer', { customer: lea.id })).code;
  // The last character changed: the check character refuses it.
  const typo = code.slice(0, -1) + (code.endsWith('K') ? 'M' : 'K');
  // A fresh till (the previous test left its new-customer form open).
  await go('#/customers');
  await go('#/till');
  await typeInFocused('till-input', ESCAPE);
  await typeInFocused('till-input', `Gaspard Ami${ENTER}`);
  await visible('#till-new-customer');
  await fill('#till-email', 'gaspard@example.com');
  await fill('#till-referred-by-input', typo);
  await (await browser.$('#till-referred-by-input')).addValue(ENTER);
  await (await browser.$('#till-new-customer button[type="submit"]')).click();
  await waitForText('[data-error-for="referred_by"]', 'Aucun parrain');
  assert.equal((await invoke('customers_search', { query: 'Gaspard Ami', limit: 5 })).length, 0, 'nobody was created');
  // Léa found, then the form cancelled; the next new customer is typed without a referrer.
  await fill('#till-referred-by-input', code);
  await (await browser.$('#till-referred-by-input')).addValue(ENTER);
  await waitForText('[data-testid="referrer-found"]', 'Léa Martin');
  await (await browser.$('[data-testid="till-new-cancel"]')).click();
  await typeInFocused('till-input', `Hugo Ami${ENTER}`);
  await visible('#till-new-customer');
  await fill('#till-email', 'hugo@example.com');
  await (await browser.$('#till-new-customer button[type="submit"]')).click();
  await visible('#till-customer');
  const [hugo] = await invoke('customers_search', { query: 'Hugo Ami', limit: 5 });
  assert.ok(hugo, 'Hugo was created');
  assert.equal((await invoke('referral_customer', { customer: hugo.id })).referred_by, null, 'and nobody referred him');
});

test('a friend at her address is flagged, then approved from the review queue', async () => {
  await go('#/customers/new');
  await fill('#first_name', 'Hugo');
  await fill('#last_name', 'Martin');
  await fill('#address-line1', '12, rue des Lilas');
  await fill('#postcode', '69003');
  await fill('#city', 'Lyon');
  await fill('#form-referred-by-input', 'Léa Mar');
  await (await visible('.candidates button')).click();
  await waitForText('[data-testid="referrer-found"]', 'Léa Martin');
  await (await browser.$('#save-customer')).click();
  await waitForText('#customer-name', 'Hugo Martin');
  await waitForText('[data-testid="referred-by-line"]', 'À vérifier');
  await shot('referrals-08-household-flagged');
  const [hugo] = await invoke('customers_search', { query: 'Hugo Martin', limit: 1 });
  await go(`#/till?customer=${hugo.id}`);
  await sell('40,00');
  await go('#/referrals');
  await waitForText('#review-queue', 'Même adresse que le parrain');
  await shot('referrals-09-review-queue');
  const reason = await visible('#review-queue input[id^="reason-"]');
  await reason.setValue('Même foyer, vérifié');
  await fill('#review-staff', 'Marie');
  await (await browser.$('#review-queue button.primary')).click();
  await waitForText('#review-queue', 'Aucun parrainage à vérifier');
  const h = await invoke('referral_customer', { customer: hugo.id });
  assert.equal(h.referred_by.status, 'approved', 'approved once reviewed');
});

test('with a 14-day hold, a refund during the hold voids that referral', async () => {
  await go('#/referrals');
  await fill('#offer-hold', '14');
  await saveOffer();
  await friendAtTill('Zoé', 'zoe@example.com', (await invoke('referral_customer', { customer: lea.id })).code);
  await (await browser.$('#till-new-customer button[type="submit"]')).click();
  await sell('50,00');
  const [zoe] = await invoke('customers_search', { query: 'Zoé Ami', limit: 1 });
  let z = await invoke('referral_customer', { customer: zoe.id });
  assert.equal(z.referred_by.status, 'qualified', 'in its hold');
  const timeline = await invoke('customer_timeline', { id: zoe.id, limit: 50 });
  const sale = timeline.find((e) => e.type === 'sale');
  await invoke('sale_refund', { input: { sale_id: sale.purchase_id, amount_cents: null, note: '' }, key: crypto.randomUUID() });
  z = await invoke('referral_customer', { customer: zoe.id });
  assert.equal(z.referred_by.status, 'voided');
  assert.equal(z.referred_by.end_reason, 'refund_during_hold');
  await go(`#/customers/${zoe.id}`);
  await waitForText('[data-testid="referred-by-line"]', 'Annulé');
  await waitForText('#timeline', 'Achat remboursé pendant le délai de retour');
  await shot('referrals-10-voided-by-refund');
});

test('the printable rules show the offer’s real figures, in French and English; the notice counts what remains', async () => {
  await go('#/referrals');
  await (await visible('#reglement-link')).click();
  await visible('#reglement');
  const fr = (await (await browser.$('#reglement')).getText()).replace(/[\u00a0\u202f]/g, ' ');
  for (const needle of ['750,00 €', 'bon de 10,00 €', 'bon de 5,00 €', '50 premiers parrains', '4 filleuls', '2 filleuls', '20,00 €', '30 jours', 'validé 14 jours après cet achat']) {
    assert.ok(fr.includes(needle), `the rules say ${needle}: ${fr}`);
  }
  await shot('referrals-11-reglement-fr');
  await (await browser.$('#print-lang')).selectByAttribute('value', 'en');
  await waitForText('#reglement', 'Referral programme rules');
  const en = (await (await browser.$('#reglement')).getText()).replace(/[\u00a0\u202f]/g, ' ');
  assert.ok(en.includes('€750.00') && en.includes('first 50 referrers'), en);
  await go('#/referrals/notice');
  await waitForText('#notice', 'Il reste');
  const notice = (await (await browser.$('#notice')).getText()).replace(/[\u00a0\u202f]/g, ' ');
  assert.match(notice, /Il reste 49 bons de 10,00 €/, notice);
  await shot('referrals-12-notice');
  await go('#/referrals');
  await visible('#referral-counters');
  await shot('referrals-13-overview');
});

test('a campaign to the friends Léa referred: the "referred by" condition picks her by name', async () => {
  const filter = { combine: 'all', conditions: [{ field: 'referred_by', customer_id: lea.id }] };
  const expected = (await invoke('segment_count', { filter })).matching;
  assert.ok(expected >= 4, `the core counts her friends: ${expected}`);
  await go('#/campaigns/new');
  await (await visible('[data-testid="segment-add-condition"]')).click();
  const field = await visible('[data-testid="segment-condition-field"]');
  await field.selectByAttribute('value', 'referred_by');
  await fill('[data-testid="customer-picker-input"]', 'Léa Mar');
  const result = await visible('[data-testid="customer-picker-result"]');
  assert.match(await result.getText(), /Léa Martin/);
  await result.click();
  await waitForText('[data-testid="customer-picker-chosen"]', 'Léa Martin');
  await browser.waitUntil(
    async () => (await (await browser.$('[data-testid="segment-count"]')).getAttribute('data-matching')) === String(expected),
    { timeout: 10_000, timeoutMsg: `the audience counts her ${expected} friends` },
  );
  await shot('referrals-14-segment-referred-by');
});
