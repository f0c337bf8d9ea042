// End-to-end: before sending. The merchant checks the sender domain of the sending settings
// against a real DNS server on loopback (Debian's dnsmasq, serving the test zone below; the app
// asks it because COMPTOIR_DNS_SERVER points there — a variable only the tests set), sees which
// record to fix and the exact record to add, sees Microsoft's notice on the Outlook preset; then
// writes a campaign whose subject is in capitals and whose text holds a shortened link: the
// content check shows both before sending, "send now" stays closed and the core refuses to start
// it; once fixed, it leaves (to the .eml outbox, nothing leaves the computer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, existsSync } from 'node:fs';
import { startApp, stopApp, browser, shot, go, visible, waitForText, invoke, fill, texts } from './harness.mjs';

/** A real 2048-bit RSA public key (the private half was thrown away). */
const KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0W6B9ae0VQyWBG/9tRlnq3SJKhxF3InAzrqvdBLolD8COiarqH09k+kPpZ632oEDq0sk+le0jFiGkRblMd8SSWrkOyCxR8wqdQMCKu4tPxPeGupvDMYS1NXslBv/slmLXubfVZjh7M4SFuLnSSy4Yk7A+1xFzi4+o0z1KfzELa7ItiWs4pFSapfZ8p7w5+v5zmkluYX3/d5iRlvE7uRGh7TZAURulFXkehRLwJEc10FDIbDiuJhhhn8fdHxx3Y6c3FnI3+/tDneM//vQh1/8oJFUMvrQtkIFBE71r5FiOfKWR5AsTy9AOd03tqki4b1TpWOfJnO/xEmfRHUnH2wW4wIDAQAB';

let dns;

function freeUdpPort() {
  return new Promise((ok, ko) => {
    const s = createSocket('udp4');
    s.on('error', ko);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

/** The test zone: boutique.test, whose SPF names its own mail host but not Google. */
const RECORDS = [
  'boutique.test,v=spf1 include:_spf.mailhost.test ~all',
  '_spf.mailhost.test,v=spf1 ip4:192.0.2.0/24 -all',
  `google._domainkey.boutique.test,v=DKIM1; k=rsa; p=${KEY.slice(0, 200)},${KEY.slice(200)}`,
  '_dmarc.boutique.test,v=DMARC1; p=none',
];

before(async () => {
  const port = await freeUdpPort();
  dns = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--listen-address=127.0.0.1',
      '--bind-interfaces', `--port=${port}`, '--local=/test/', '--user=nobody', '--group=nogroup', '--pid-file=',
      '--log-facility=-', ...RECORDS.map((r) => `--txt-record=${r}`),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await new Promise((ok) => setTimeout(ok, 500));
  assert.equal(dns.exitCode, null, 'dnsmasq runs (Debian package dnsmasq-base)');
  // The app started below inherits this: its domain check asks this server only.
  process.env.COMPTOIR_DNS_SERVER = `127.0.0.1:${port}`;
  await startApp();
});

after(async () => {
  await stopApp();
  dns?.kill();
});

const consent = { choice: 'express', source: 'counter', wording: "J'accepte de recevoir la lettre d'information." };
function newCustomer(first, email) {
  return {
    customer: {
      first_name: first, last_name: 'Client', email, phone: '', birthday: null, language: null, tags: [],
      address: { line1: '', line2: '', postcode: '', city: '', country: null },
    },
    consent, note: '',
  };
}

test('a shop with two customers who agreed', async () => {
  await visible('#start-empty', 20_000);
  await (await browser.$('#start-empty')).click();
  await invoke('customer_create', { input: newCustomer('Zoé', 'zoe@example.com'), key: 'e2e-deliv-zoe-01' });
  await invoke('customer_create', { input: newCustomer('Émile', 'emile@example.com'), key: 'e2e-deliv-emile-1' });
});

test('the domain check reads the test zone and says which record to fix, with the record to add', async () => {
  await go('#/campaigns/settings');
  await fill('[data-testid="mail-sender-name"]', 'Boutique Léa');
  await fill('[data-testid="mail-sender-email"]', 'lea@boutique.test');
  await fill('[data-testid="mail-postal"]', '3 rue des Lilas, 69001 Lyon');
  await (await visible('[data-testid="mail-delivery-smtp"]')).click();
  await (await visible('[data-testid="mail-preset"]')).selectByAttribute('value', 'gmail');
  await (await visible('[data-testid="domain-check"]')).click();
  await waitForText('[data-testid="domain-summary"]', 'boutique.test', 20_000);
  const summary = (await texts('[data-testid="domain-summary"]'))[0];
  assert.match(summary, /réglage à corriger/, `the SPF that forgets Google is a problem: ${summary}`);
  const records = await browser.execute(() =>
    Array.from(document.querySelectorAll('[data-testid="domain-record"]')).map((r) => [r.dataset.kind, r.dataset.level, r.innerText]),
  );
  assert.deepEqual(records.map(([k, l]) => [k, l]), [['spf', 'problem'], ['dkim', 'ok'], ['dmarc', 'ok']], JSON.stringify(records));
  assert.match(records[0][2], /n'autorise pas Google Workspace/);
  assert.match(records[1][2], /sélecteur « google »/, 'the key published in the zone was read');
  assert.match(records[2][2], /simple observation/, 'p=none is monitoring only');
  const values = await texts('[data-testid="fix-value"]');
  assert.deepEqual(values, ['v=spf1 include:_spf.mailhost.test include:_spf.google.com ~all'], 'the exact record to publish instead');
  await (await browser.$('[data-testid="domain-result"]')).scrollIntoView({ block: 'start' });
  await shot('70-domain-check');
});

test('the Outlook preset says Microsoft is retiring password sign-in', async () => {
  await (await visible('[data-testid="mail-preset"]')).selectByAttribute('value', 'outlook');
  const notice = await (await visible('[data-testid="mail-outlook-notice"]')).getText();
  assert.match(notice, /Microsoft retire la connexion par mot de passe/);
  assert.match(notice, /Brevo, Mailjet/, 'and what to do instead');
  await shot('71-outlook-notice');
  // The settings are saved with the outbox folder: nothing leaves this computer in this test.
  await (await visible('[data-testid="mail-delivery-outbox"]')).click();
  await (await visible('[data-testid="mail-save"]')).click();
  await visible('[data-testid="mail-saved"]');
});

test('the content check shows capitals and a shortened link before sending, and sending stays closed', async () => {
  await go('#/campaigns');
  await (await visible('[data-testid="campaign-new"]')).click();
  await fill('[data-testid="campaign-name"]', 'Soldes');
  await fill('[data-testid="campaign-subject"]', "SOLDES MONSTRES D'HIVER");
  await (await visible('[data-testid="block-add-text"]')).click();
  const text = await visible('[data-testid="block-text"]');
  await text.setValue("Bonjour, nos soldes d'hiver commencent samedi à la boutique, avec des prix doux sur toute la collection : tout est ici https://bit.ly/soldes-hiver");
  await waitForText('[data-testid="content-blocking"]', 'bit.ly', 20_000);
  const blocking = (await texts('[data-testid="content-blocking"]'))[0];
  assert.match(blocking, /lien raccourci \(bit\.ly\)/);
  const warnings = (await texts('[data-testid="content-warnings"]'))[0];
  assert.match(warnings, /en capitales/, 'the subject in capitals is advice');
  const sendNow = await visible('[data-testid="campaign-send-now"]');
  assert.equal(await sendNow.isEnabled(), false, '"send now" stays closed while something blocks');
  await (await browser.$('[data-testid="content-check"]')).scrollIntoView();
  await shot('72-content-check');
  await (await visible('[data-testid="campaign-save"]')).click();
  await visible('[data-testid="campaign-saved"]');
  const [c] = await invoke('campaigns_list', {});
  const refused = await browser.execute(
    (id) => window.__TAURI_INTERNALS__.invoke('campaign_start', { id, key: 'e2e-deliv-start-1' }).then(() => null, (e) => e),
    c.id,
  );
  assert.equal(refused?.code, 'conflict', 'the core refuses to start it too');
  assert.match(refused.message, /point à corriger/);
});

test('once fixed, the check clears and the campaign leaves', async () => {
  await fill('[data-testid="campaign-subject"]', "Les soldes d'hiver commencent samedi");
  const text = await visible('[data-testid="block-text"]');
  await text.clearValue();
  await text.setValue("Bonjour, nos soldes d'hiver commencent samedi à la boutique, avec des prix doux sur toute la collection : tout est ici https://boutique.example.com/soldes");
  await visible('[data-testid="content-ok"]', 20_000);
  await browser.waitUntil(async () => (await (await browser.$('[data-testid="campaign-send-now"]')).isEnabled()), {
    timeout: 10_000,
    timeoutMsg: '"send now" never opened once the message was fixed',
  });
  await (await visible('[data-testid="control-percent"]')).setValue('0');
  await (await visible('[data-testid="campaign-send-now"]')).click();
  await (await visible('[data-testid="confirm-send"]')).click();
  await waitForText('[data-testid="progress-sent"]', '2', 30_000);
  const view = await invoke('mail_settings_get', {});
  const files = existsSync(view.outbox_dir) ? readdirSync(view.outbox_dir).filter((f) => f.endsWith('.eml')) : [];
  assert.equal(files.length, 2, 'two messages written to the outbox folder');
  await shot('73-sent-after-fix');
});
