// End-to-end: the numbers in the real window. The demo shop opens on the dashboard (the home
// screen); each chart switches to a table; a number opens its customers, and from there a
// campaign to them; a customer's page says their rhythm; the till asks a customer's opinion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, stopApp, browser, ENTER, ESCAPE, shot, go, visible, waitForText, typeInFocused, invoke, texts, pageText } from './harness.mjs';

before(startApp);
after(stopApp);

test('the demo shop opens on the dashboard, the home screen', async () => {
  await (await visible('#start-demo', 20_000)).click();
  await visible('#kpis', 60_000);
  const hash = await browser.execute(() => window.location.hash);
  assert.ok(hash === '' || hash === '#/', `home is the dashboard, not ${hash}`);
  const current = await texts('nav.sidebar a[aria-current="page"]');
  assert.deepEqual(current, ['Tableau de bord'], 'the menu shows the dashboard as the current screen');
  const revenue = await (await visible('#kpi-revenue')).getText();
  assert.match(revenue, /€/, `the revenue tile shows money: ${revenue}`);
  // The figures the background computes (segments, programme) arrive without reloading.
  await visible('#rfm [data-segment="champions"]', 60_000);
  await visible('#programme-liability', 60_000);
  // The demo's tote bag has a selling value in the catalogue: the gifts handed over are priced.
  const d = await invoke('numbers_dashboard', { req: { grain: 'month', until: null } });
  const costs = d.insights.programme.costs;
  assert.ok(costs.free_rewards_valued > 0, 'the demo shop hands tote bags over');
  const gifts = (await (await visible('#programme-gifts')).getText()).replace(/[\u00a0\u202f]/g, ' ');
  const value = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' })
    .format(costs.free_rewards_value_cents / 100)
    .replace(/[\u00a0\u202f]/g, ' ');
  assert.ok(gifts.includes(`${value} au prix de vente`), `the gifts are valued at the catalogue's price: ${gifts}`);
  // Each bar of the before/after chart opens the customers it averages.
  const ba = d.insights.programme.before_after;
  assert.ok(ba && ba.members > 0, 'the demo shop has members to compare before and after joining');
  {
    await browser.execute(() => document.getElementById('chart-programme')?.scrollIntoView());
    await (await browser.$('#chart-programme [data-chart-toggle]')).click();
    const bar = await visible('#chart-programme [data-chart-table] tbody a');
    await browser.execute((el) => el.scrollIntoView({ block: 'center' }), bar);
    await bar.click();
    await waitForText('#numbers-list-title', 'Adhérents comparés', 10_000);
    await browser.waitUntil(async () => Number((await (await browser.$('#list-total')).getText()).replace(/\D/g, '')) === ba.members, {
      timeout: 15_000,
      timeoutMsg: `the members' bar never opened the ${ba.members} members compared`,
    });
    await go('#/');
    await visible('#programme-liability', 60_000);
  }
  await shot('40-dashboard-home');
});

test('every chart is drawn, summarised in a sentence, and switches to a table and back', async () => {
  await go('#/');
  await visible('#chart-revenue', 20_000);
  const ids = await browser.execute(() => Array.from(document.querySelectorAll('[data-chart]')).map((e) => e.id));
  assert.ok(ids.length >= 6, `the dashboard has its charts: ${ids}`);
  for (const id of ids) {
    await browser.execute((i) => document.getElementById(i)?.scrollIntoView(), id);
    await browser.waitUntil(async () => browser.execute((i) => !!document.querySelector(`#${i} .plot svg`), id), {
      timeout: 20_000,
      timeoutMsg: `${id} was never drawn`,
    });
    const label = await browser.execute((i) => document.querySelector(`#${i} .plot`)?.getAttribute('aria-label') ?? '', id);
    assert.ok(label.length > 20, `${id} is described for screen readers: ${label}`);
    const summary = await browser.execute((i) => document.querySelector(`#${i} [data-chart-summary]`)?.textContent ?? '', id);
    assert.ok(summary.trim().length > 10, `${id} says what it shows in a sentence`);
    await (await browser.$(`#${id} [data-chart-toggle]`)).click();
    await browser.waitUntil(async () => browser.execute((i) => document.querySelectorAll(`#${i} [data-chart-table] tbody tr`).length > 0, id), {
      timeout: 5_000,
      timeoutMsg: `${id} never showed its table`,
    });
    const pressed = await browser.execute((i) => document.querySelector(`#${i} [data-chart-toggle]`)?.getAttribute('aria-pressed'), id);
    assert.equal(pressed, 'true');
    if (id === 'chart-revenue') await shot('41-chart-as-table');
    await (await browser.$(`#${id} [data-chart-toggle]`)).click();
    await browser.waitUntil(async () => browser.execute((i) => !!document.querySelector(`#${i} .plot svg`), id), { timeout: 10_000 });
  }
  for (const g of ['day', 'week', 'month']) {
    await (await browser.$(`#grain-${g}`)).click();
    await browser.waitUntil(async () => (await browser.$(`#grain-${g}`).getAttribute('aria-checked')) === 'true', { timeout: 5_000 });
  }
});

/** The customer list shows first the customer the core lists first in that order. */
async function listStartsAsSorted(sort, timeoutMsg) {
  const want = await invoke('customers_list', { req: { sort, archived: false, after: null, limit: 1 } });
  await browser.waitUntil(
    async () => (await browser.execute(() => document.querySelector('[data-customer-row]')?.getAttribute('data-id'))) === String(want.items[0].id),
    { timeout: 15_000, timeoutMsg },
  );
}

test('a number opens its customers, and they get a campaign', async () => {
  await go('#/');
  const champions = await visible('#rfm [data-segment="champions"]', 30_000);
  const count = Number((await champions.$('.n').getText()).replace(/\D/g, ''));
  assert.ok(count > 0, 'the demo shop has champions');
  await champions.click();
  await waitForText('#numbers-list-title', 'Champions');
  await browser.waitUntil(async () => (await browser.$$('[data-numbers-row]')).length > 0, { timeout: 15_000 });
  const total = await (await visible('#list-total')).getText();
  assert.equal(Number(total.replace(/\D/g, '')), count, 'the list holds the customers the number counts');
  const segments = await texts('[data-numbers-row] [data-col="segment"]');
  assert.ok(segments.every((x) => x === 'Champions'), `the segment is a column: ${segments.slice(0, 3)}`);
  await shot('42-customers-behind-a-number');
  // Keep it as a segment…
  await (await browser.$('#list-create-segment')).click();
  await (await browser.$('form.naming button[type="submit"]')).click();
  await waitForText('#list-notice', 'Champions');
  // …and write to them.
  await (await browser.$('#list-write-campaign')).click();
  await browser.waitUntil(async () => /#\/campaigns\/\d+/.test(await browser.execute(() => window.location.hash)), {
    timeout: 15_000,
    timeoutMsg: 'no campaign was opened',
  });
  const field = await visible('[data-testid="segment-condition-field"]', 15_000);
  assert.equal(await field.getValue(), 'rfm_segment', 'the campaign targets the segment');
  await visible('[data-testid="segment-count"]', 15_000);
  await shot('43-campaign-from-a-number');
});

test('a cell of the RFM grid opens the customers it counts, not its whole segment', async () => {
  await go('#/');
  // The busiest cell, so that the comparison means something.
  const cells = await browser.execute(() =>
    Array.from(document.querySelectorAll('#rfm [data-rfm-cell]')).map((a, i) => [i, Number(a.querySelector('.n')?.textContent?.replace(/\D/g, '') ?? 0)]),
  );
  assert.equal(cells.length, 25, 'five rows of five');
  const [index, count] = cells.reduce((best, c) => (c[1] > best[1] ? c : best));
  assert.ok(count > 0);
  await (await browser.$$('#rfm [data-rfm-cell]'))[index].click();
  await waitForText('#numbers-list-title', 'Récence');
  await browser.waitUntil(async () => Number((await (await visible('#list-total')).getText()).replace(/\D/g, '')) === count, {
    timeout: 15_000,
    timeoutMsg: `the list of the cell never held its ${count} customers`,
  });
});

test('a tile and a chart bar open the customers of their period', async () => {
  await go('#/');
  await (await visible('#kpi-new', 20_000)).click();
  await waitForText('#numbers-list-title', 'Nouveaux clients');
  await go('#/');
  await visible('#chart-customers', 20_000);
  await (await browser.$('#chart-customers [data-chart-toggle]')).click();
  const link = await visible('#chart-customers [data-chart-table] tbody tr:last-child a');
  await link.click();
  await browser.waitUntil(async () => (await browser.$$('[data-numbers-row]')).length > 0, { timeout: 15_000 });
  // The programme's cost and its breakage open their customers too.
  const d = await invoke('numbers_dashboard', { req: { grain: 'month', until: null } });
  const figures = [['#programme-discounts', 'utilisé une récompense']];
  // The breakage is a link when there is a rate (points earned in the 12 months).
  if (d.insights?.programme.breakage.rate_permille !== null) figures.push(['#programme-breakage', 'points ont expiré']);
  assert.ok(figures.length === 2, 'the demo shop has a breakage rate');
  for (const [id, title] of figures) {
    await go('#/');
    await (await visible(id, 60_000)).click();
    await waitForText('#numbers-list-title', title);
  }
});

test('this month so far is compared with the same days of last month, and opens its customers', async () => {
  await go('#/');
  await visible('#kpis', 20_000);
  const d = await invoke('numbers_dashboard', { req: { grain: 'month', until: null } });
  if (d.so_far === null) {
    // The 1st of the month: no whole day yet, nothing to compare.
    assert.equal(await browser.execute(() => !!document.querySelector('#so-far')), false, 'no so-far on the 1st');
    return;
  }
  const tile = await visible('#so-far-revenue', 20_000);
  const text = (await tile.getText()).replace(/[\u00a0\u202f]/g, ' ');
  assert.match(text, /€/, `the month so far shows money: ${text}`);
  assert.match(text, /mêmes jours du mois dernier|rien aux mêmes jours/, `compared with the same days of last month: ${text}`);
  const active = Number((await (await browser.$('#so-far-active .value')).getText()).replace(/\D/g, ''));
  await tile.click();
  await waitForText('#numbers-list-title', 'Clients venus acheter');
  await browser.waitUntil(async () => Number((await (await browser.$('#list-total')).getText()).replace(/\D/g, '')) === active, {
    timeout: 15_000,
    timeoutMsg: `the list never held the ${active} customers who bought this month`,
  });
});

test('the expected value on the dashboard opens the customer list sorted by it, best first', async () => {
  // The average expected spend opens the customers above it.
  await go('#/');
  await (await visible('#clv-average', 60_000)).click();
  await waitForText('#numbers-list-title', 'au-dessus de la moyenne', 10_000);
  await browser.waitUntil(async () => (await browser.$$('[data-numbers-row]')).length > 0, { timeout: 15_000 });
  // The dashboard's expected total opens the list in that order.
  await go('#/');
  await (await visible('#clv-total', 60_000)).click();
  await browser.waitUntil(async () => (await browser.execute(() => document.querySelector('#customer-sort')?.value)) === 'expected_value', {
    timeout: 15_000,
    timeoutMsg: 'the list did not open sorted by expected value',
  });
  await listStartsAsSorted('expected_value', 'the list never started with the highest expected value');
  await waitForText('[data-customer-row] [data-col="value"]', '€', 15_000);
  // The scores are columns: a click on the churn risk's header sorts by it, most at risk first.
  await (await visible('.list-head [data-sort="churn_risk"]')).click();
  await browser.waitUntil(async () => (await browser.execute(() => location.hash)) === '#/customers?sort=churn_risk', {
    timeout: 10_000,
    timeoutMsg: 'the header did not sort the list',
  });
  await listStartsAsSorted('churn_risk', 'the list never started with the customer most at risk');
  await waitForText('[data-customer-row] [data-col="churn"]', 'À risque', 15_000);
  // A column can be hidden, and stays hidden when the list is opened again.
  await (await browser.$('#customer-columns summary')).click();
  await (await visible('#customer-columns [data-column="contact"]')).click();
  await browser.waitUntil(async () => (await browser.$$('[data-customer-row] [data-col="contact"]')).length === 0, {
    timeout: 5_000,
    timeoutMsg: 'the contact column stayed',
  });
  await shot('48-customer-list-columns');
  await go('#/');
  await go('#/customers');
  await visible('[data-customer-row] [data-col="segment"]', 15_000);
  assert.equal((await browser.$$('[data-customer-row] [data-col="contact"]')).length, 0, 'the choice of columns is kept');
  await browser.execute(() => localStorage.removeItem('comptoir.customer_columns_hidden'));
});

test("a customer's page says their rhythm, segment and value", async () => {
  const best = await invoke('customers_list', { req: { sort: 'total_spent', archived: false, after: null, limit: 1 } });
  await go(`#/customers/${best.items[0].id}`);
  await waitForText('#customer-rhythm', 'vient tou', 15_000);
  await visible('#customer-segment');
  const clv = await (await visible('#customer-clv')).getText();
  assert.match(clv, /entre .* et /, `an estimate with a range: ${clv}`);
  await shot('44-customer-numbers');
});

/** A card holder of the demo shop not asked in 90 days (from the end of the list when `last`),
 *  sold something at the till: the confirmation offers to ask their opinion. */
async function sellToAskable(last, amount) {
  const page = await invoke('customers_list', { req: { sort: 'name', archived: false, after: null, limit: 200 } });
  let who = null;
  for (const c of last ? page.items.slice().reverse() : page.items) {
    if (c.card_number && (await invoke('nps_customer', { customer: c.id })).may_ask) {
      who = c;
      break;
    }
  }
  assert.ok(who, 'someone in the demo shop was not asked in the last 90 days');
  await go('#/till');
  await typeInFocused('till-input', who.card_number + ENTER);
  await waitForText('#till-customer', who.display_name);
  await typeInFocused('till-amount', amount + ENTER);
  await visible('#till-confirmation', 15_000);
  return who;
}

test('the till asks the customer their opinion on a screen they can read', async () => {
  const who = await sellToAskable(false, '18,50');
  await (await visible('#nps-ask', 15_000)).click();
  await visible('#nps-question');
  await shot('45-survey-at-the-till');
  // A modal dialog: the Tab key stays on the customer's screen, never reaches the till behind.
  for (let i = 0; i < 16; i++) {
    await browser.keys('Tab');
    const inside = await browser.execute(() => !!document.activeElement?.closest('dialog[open]'));
    assert.ok(inside, `Tab ${i + 1} kept the focus in the survey`);
  }
  await (await browser.$('[data-nps-score="9"]')).click();
  // The scale is one radio group: the arrows move the choice.
  await browser.keys('ArrowRight');
  assert.equal(await browser.execute(() => document.activeElement?.getAttribute('data-nps-score')), '10');
  await browser.keys('ArrowLeft');
  assert.equal(await (await browser.$('[data-nps-score="9"]')).getAttribute('aria-checked'), 'true', 'back to 9');
  await (await browser.$('#nps-comment')).setValue('Très bon accueil <script>alert(1)</script>');
  await (await browser.$('#nps-send')).click();
  await visible('#nps-thanks');
  await waitForText('#nps-asked-note', 'Avis enregistré', 10_000);
  const after = await invoke('nps_customer', { customer: who.id });
  assert.equal(after.last_answer.score, 9);
  assert.equal(after.may_ask, false, 'not asked again for 90 days');
  assert.ok(after.last_answer.comment.includes('<script>'), 'the comment is kept as typed');
});

test("Esc on the customer's survey declines it and leaves the till as it was", async () => {
  const who = await sellToAskable(true, '7,20');
  // The cashier had started looking up the next customer.
  await typeInFocused('till-input', 'Zo');
  await (await visible('#nps-ask', 15_000)).click();
  await visible('#nps-question');
  await browser.keys(ESCAPE);
  await waitForText('#nps-asked-note', 'pas souhaité répondre', 10_000);
  assert.equal(await browser.execute(() => !!document.querySelector('dialog[open]')), false, 'the survey is closed');
  const till = await browser.execute(() => [document.activeElement?.id, document.querySelector('#till-input')?.value]);
  assert.deepEqual(till, ['till-input', 'Zo'], 'Esc closed the survey only: the till kept its search, and has the focus back');
  assert.equal((await invoke('nps_customer', { customer: who.id })).may_ask, false, 'declined counts as asked');
});

test('satisfaction is scored, with comments by theme, and the monthly report prints', async () => {
  // The promoters counted on the dashboard are the customers their list holds.
  await go('#/');
  const promoters = await visible('#nps .groups a', 30_000);
  const label = await promoters.getText();
  const counted = Number(label.replace(/^.*:/, '').replace(/\D/g, ''));
  assert.ok(counted > 0, 'the demo shop has promoters');
  await promoters.click();
  await waitForText('#numbers-list-title', 'des 12 derniers mois');
  await browser.waitUntil(async () => Number((await (await browser.$('#list-total')).getText()).replace(/\D/g, '')) === counted, {
    timeout: 15_000,
    timeoutMsg: `the promoters' list never held the ${counted} counted`,
  });
  // A month of the satisfaction trend opens the customers who answered in it.
  await go('#/');
  await visible('#chart-nps', 30_000);
  await browser.execute(() => document.getElementById('chart-nps')?.scrollIntoView());
  await (await browser.$('#chart-nps [data-chart-toggle]')).click();
  await browser.waitUntil(async () => (await browser.$$('#chart-nps [data-chart-table] tbody a')).length > 1, {
    timeout: 5_000,
    timeoutMsg: 'the months of the trend are not links',
  });
  const trend = (await invoke('numbers_dashboard', { req: { grain: 'month', until: null } })).nps.trend;
  const lastMonth = trend[trend.length - 1];
  const monthLinks = await browser.$$('#chart-nps [data-chart-table] tbody a');
  const lastLink = monthLinks[monthLinks.length - 1];
  await browser.execute((el) => el.scrollIntoView({ block: 'center' }), lastLink);
  await lastLink.click();
  await waitForText('#numbers-list-title', 'Ont répondu au questionnaire de satisfaction', 10_000);
  await browser.waitUntil(
    async () => {
      const n = Number((await (await browser.$('#list-total')).getText()).replace(/\D/g, ''));
      return n > 0 && n <= lastMonth.answers;
    },
    { timeout: 15_000, timeoutMsg: `the month's list never held its answerers (at most ${lastMonth.answers})` },
  );
  await go('#/numbers/nps');
  await visible('#nps-page-score', 15_000);
  const text = await pageText();
  assert.ok(!text.includes('indicatif'), 'the demo shop has enough answers for a score that is not only indicative');
  assert.match(text, /Commentaires par thème/);
  // A theme's count opens its comments: as many as counted, each about that theme.
  const first = await visible('table.themes button[data-theme]');
  const [themeCount, themeKey] = [Number((await first.getText()).replace(/\D/g, '')), await first.getAttribute('data-theme')];
  await first.click();
  await browser.waitUntil(async () => (await browser.execute(() => document.querySelector('#nps-comments-theme')?.value)) === themeKey, {
    timeout: 10_000,
  });
  await browser.waitUntil(async () => Number(await (await browser.$('#nps-comments-total')).getAttribute('data-total')) === themeCount, {
    timeout: 10_000,
    timeoutMsg: `the theme's list never counted its ${themeCount} comments`,
  });
  await shot('46-satisfaction');
  await go('#/numbers/report');
  await visible('#report-heading', 15_000);
  await visible('#kpis', 15_000);
  await visible('#report-print');
  // The report's figures are the month's, against the month before and last year's.
  await waitForText('#numbers-window', 'mois précédent');
  const month = await browser.execute(() => document.querySelector('#report-month')?.value ?? '');
  const [y, m] = month.split('-').map(Number);
  const until = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
  const r = await invoke('numbers_dashboard', { req: { grain: 'month', until } });
  assert.equal(r.windows.current.from, `${month}-01`, 'the figures are the chosen month\'s');
  const sales = new Intl.NumberFormat('fr-FR').format(r.current.sales).replace(/[\u00a0\u202f]/g, ' ');
  await browser.waitUntil(async () => (await (await browser.$('#kpis')).getText()).replace(/[\u00a0\u202f]/g, ' ').includes(sales), {
    timeout: 10_000,
    timeoutMsg: `the report never showed the month's ${sales} sales`,
  });
  await shot('47-monthly-report');
  // On paper: WebKitWebDriver cannot print, so the page's own print rules are applied to the
  // screen at the width of an A4 page less its margins (180 mm). Every chart must still be
  // drawn, scaled to that width, and nothing may run off the page.
  await browser.waitUntil(async () => browser.execute(() => document.querySelectorAll('.plot svg').length >= 3), { timeout: 20_000 });
  const paper = await browser.execute(() => {
    const sheet = new CSSStyleSheet();
    for (const s of Array.from(document.styleSheets)) {
      for (const r of Array.from(s.cssRules)) {
        if (r instanceof CSSMediaRule && r.media.mediaText.includes('print')) {
          for (const inner of Array.from(r.cssRules)) sheet.insertRule(inner.cssText, sheet.cssRules.length);
        }
      }
    }
    sheet.insertRule('main.content { width: 180mm !important; }', sheet.cssRules.length);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    const main = document.querySelector('main.content');
    const right = main.getBoundingClientRect().right;
    const plots = Array.from(document.querySelectorAll('.plot')).map((p) => {
      const r = p.getBoundingClientRect();
      const svg = p.querySelector('svg');
      // Scaled, not cropped: the drawing's viewBox is its drawn size.
      const scaled = !!svg && svg.getAttribute('viewBox') === `0 0 ${svg.getAttribute('width')} ${svg.getAttribute('height')}`;
      return [Math.round(r.width), Math.round(r.height), scaled];
    });
    const overflowing = Array.from(main.querySelectorAll('*'))
      .filter((e) => e.getBoundingClientRect().right > right + 1)
      .map((e) => e.tagName);
    const sidebar = getComputedStyle(document.querySelector('.sidebar')).display;
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((x) => x !== sheet);
    return { plots, overflowing, sidebar, width: Math.round(main.getBoundingClientRect().width) };
  });
  assert.equal(paper.sidebar, 'none', 'the menu is not printed');
  assert.ok(paper.plots.length >= 3, `the report has its charts: ${JSON.stringify(paper.plots)}`);
  for (const [w, h, scaled] of paper.plots) {
    assert.ok(h > 150 && w > 400 && scaled, `each chart is drawn on paper, a column wide and in proportion: ${JSON.stringify(paper.plots)}`);
  }
  assert.deepEqual(paper.overflowing, [], `nothing runs off the ${paper.width} px page`);
});

test('a campaign asks the satisfaction question by email: eleven scores that open a reply', async () => {
  await go('#/campaigns');
  await (await visible('[data-testid="campaign-new"]')).click();
  await (await visible('[data-testid="block-add-survey"]')).click();
  await visible('[data-testid="block-survey"]');
  assert.equal((await browser.$$('[data-testid="block-add-survey"]')).length, 0, 'the question is asked once per message');
  await (await browser.$('[data-testid="block-survey"]')).setValue('Que pensez-vous de <b>la boutique</b> ?');
  const frame = await visible('[data-testid="preview-frame"]', 15_000);
  let links = [];
  await browser.waitUntil(async () => {
    await browser.switchFrame(frame);
    const body = await browser.execute(() => document.body?.innerText ?? '');
    links = await browser.execute(() => Array.from(document.querySelectorAll('a[href^="mailto:"]')).map((a) => [a.textContent, a.getAttribute('href')]));
    await browser.switchFrame(null);
    return body.includes('Que pensez-vous de <b>la boutique</b> ?');
  }, { timeout: 15_000, timeoutMsg: 'the preview never showed the question as written' });
  const scores = links.filter(([, href]) => href.includes('%2F10'));
  assert.deepEqual(scores.map(([n]) => n), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], 'eleven scores, 0 to 10');
  assert.match(scores[8][1], /subject=Avis%208%2F10%20%5B\w+%5D$/, `the score and a token in the reply's subject: ${scores[8][1]}`);
  await shot('47-campaign-survey-preview');
  // The audience says how many were asked in the last 90 days, and they are not counted to receive it.
  const all = await invoke('segment_count', { filter: { combine: 'all', conditions: [] } });
  assert.ok(all.asked_recently > 0, 'the demo shop asked some customers at the till lately');
  await waitForText('[data-testid="survey-asked-recently"]', 'ces 90 derniers jours', 20_000);
});
