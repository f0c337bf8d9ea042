// End-to-end: what comes back to the mailbox. A campaign goes to three customers through an SMTP
// server on loopback (Debian's python3-aiosmtpd); one address bounces (the test puts a realistic
// delivery report naming the sent Message-ID into the shop's mailbox, a Dovecot on loopback) and
// one customer replies "unsubscribe <token>". After "read now" in the Retours screen, the next
// campaign skips both, and the two customer pages say why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, stopApp, browser, shot, go, visible, waitForText, invoke, fill, texts } from './harness.mjs';

const SHOP = 'lea@boutique.test';
const IMAP_PASSWORD = 's3cret-imap';
let smtp;
let dovecot;
let mailDir;
let imapDir;
let smtpPort;
let imapPort;

function freePort() {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
    s.on('error', ko);
  });
}

function received() {
  const dirs = ['new', 'cur'].map((d) => join(mailDir, 'box', d)).filter(existsSync);
  return dirs.flatMap((d) => readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')));
}

async function waitForMessages(n) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (received().length >= n) return received();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the SMTP server received ${received().length} messages, expected ${n}`);
}

const id = (flag, user = '') => spawnSync('id', [flag, ...(user ? [user] : [])], { encoding: 'utf8' }).stdout.trim();

/** A Dovecot of the test's own: plain IMAP on 127.0.0.1, one user, maildir in a temporary folder. */
async function startDovecot() {
  imapDir = mkdtempSync(join(tmpdir(), 'comptoir-imap-'));
  chmodSync(imapDir, 0o755);
  mkdirSync(join(imapDir, 'mail'));
  const root = id('-u') === '0';
  const me = id('-un');
  const [login, internal, mailUser] = root ? ['dovenull', 'dovecot', 'dovecot'] : [me, me, me];
  const uid = id('-u', mailUser);
  const gid = id('-g', mailUser);
  if (root) spawnSync('chown', [`${uid}:${gid}`, join(imapDir, 'mail')]);
  writeFileSync(join(imapDir, 'passwd'), `${SHOP}:{PLAIN}${IMAP_PASSWORD}\n`);
  imapPort = await freePort();
  const d = imapDir;
  writeFileSync(
    join(d, 'dovecot.conf'),
    `protocols = imap\nlisten = 127.0.0.1\nbase_dir = ${d}/run\nstate_dir = ${d}/state\nlog_path = ${d}/dovecot.log\n` +
      `ssl = no\nfirst_valid_uid = 1\nfirst_valid_gid = 1\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n` +
      `default_login_user = ${login}\ndefault_internal_user = ${internal}\nmail_location = maildir:${d}/mail/%u\n` +
      `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN ${d}/passwd\n}\n` +
      `userdb {\n  driver = static\n  args = uid=${uid} gid=${gid} home=${d}/mail/%u\n}\n` +
      `namespace inbox {\n  inbox = yes\n  mailbox Junk {\n    special_use = \\Junk\n    auto = create\n  }\n}\n` +
      `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${imapPort}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}\n`,
  );
  dovecot = spawn('/usr/sbin/dovecot', ['-F', '-c', join(d, 'dovecot.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Deliver a message into the shop's mailbox, as its mail server would (IMAP APPEND). */
function deliver(raw) {
  const script = [
    'import imaplib, sys',
    `m = imaplib.IMAP4('127.0.0.1', ${imapPort})`,
    `m.login(${JSON.stringify(SHOP)}, ${JSON.stringify(IMAP_PASSWORD)})`,
    "m.append('INBOX', None, None, sys.stdin.buffer.read())",
    'm.logout()',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: raw.replace(/\r?\n/g, '\r\n') });
  assert.equal(r.status, 0, `APPEND into the test mailbox: ${r.stderr}`);
}

before(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'comptoir-smtp-'));
  smtpPort = await freePort();
  smtp = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', join(mailDir, 'box')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await startDovecot();
  await startApp();
});

after(async () => {
  await stopApp();
  smtp?.kill();
  dovecot?.kill();
  for (const d of [mailDir, imapDir]) if (d) rmSync(d, { recursive: true, force: true });
});

const consent = { choice: 'express', source: 'counter', wording: "J'accepte de recevoir la lettre d'information." };
function newCustomer(first, last, email) {
  return {
    customer: {
      first_name: first, last_name: last, email, phone: '', birthday: null, language: null, tags: [],
      address: { line1: '', line2: '', postcode: '', city: '', country: null },
    },
    consent, note: '',
  };
}
const ids = {};
const campaign = (name) => ({
  name,
  content: { a: { subject: `${name} à la boutique`, preheader: '', blocks: [{ type: 'text', markdown: 'Bonjour {{ first_name }}.' }] }, b: null },
  audience: { filter: { combine: 'all', conditions: [] }, control_percent: 0, ab: null, results_days: 7 },
});

test('three customers who agreed, sending through a local SMTP server', async () => {
  await visible('#start-empty', 20_000);
  await (await visible('#start-empty')).click();
  for (const [first, email] of [['Alice', 'alice@example.com'], ['Bruno', 'bruno@example.com'], ['Chloé', 'chloe@example.com']]) {
    const key = `e2e-mb-${email.split('@')[0]}-0001`;
    ids[first] = (await invoke('customer_create', { input: newCustomer(first, 'Client', email), key })).value;
  }
  const view = await invoke('mail_settings_get', {});
  const settings = {
    ...view.settings,
    sender_name: 'Boutique Léa', sender_email: SHOP, postal_address: '3 rue des Lilas, 69001 Lyon', delivery: 'smtp',
    smtp: { ...view.settings.smtp, preset: 'custom', host: '127.0.0.1', port: smtpPort, tls: 'none', username: '' },
  };
  await invoke('mail_settings_save', { input: settings, password: null, key: 'e2e-mb-mail-settings' });
});

test("the mailbox section of the sending settings: a Dovecot on this computer, tested and saved", async () => {
  await go('#/campaigns/settings');
  await (await visible('[data-testid="mailbox-enabled"]', 15_000)).click();
  await (await visible('[data-testid="mailbox-preset"]')).selectByAttribute('value', 'custom');
  await fill('[data-testid="mailbox-host"]', '127.0.0.1');
  await fill('[data-testid="mailbox-port"]', String(imapPort));
  await (await visible('[data-testid="mailbox-tls"]')).selectByAttribute('value', 'none');
  await fill('[data-testid="mailbox-username"]', SHOP);
  await fill('[data-testid="mailbox-password"]', 'wrong-password');
  await (await visible('[data-testid="mailbox-test"]')).click();
  await waitForText('[data-testid="mailbox-test-result"]', 'mot de passe', 20_000);
  await shot('80-mailbox-test-wrong-password');
  await fill('[data-testid="mailbox-password"]', IMAP_PASSWORD);
  await (await visible('[data-testid="mailbox-test"]')).click();
  await waitForText('[data-testid="mailbox-test-result"]', 'réussie', 20_000).catch(async (e) => {
    throw new Error(`${e.message}: ${(await texts('[data-testid="mailbox-test-result"]')).join(' | ')}`);
  });
  await (await visible('[data-testid="mailbox-save"]')).click();
  await visible('[data-testid="mailbox-saved"]');
  await shot('81-mailbox-settings');
  const saved = await invoke('mailbox_settings_get', {});
  assert.equal(saved.settings.imap_enabled, true);
  assert.equal(saved.settings.imap.port, imapPort);
  assert.ok(saved.password, 'the password is kept (keychain or this session), never shown');
});

let first;
test('a campaign to the three', async () => {
  const draft = await invoke('campaign_create', { input: campaign('Nouveautés'), key: 'e2e-mb-campaign-1' });
  await invoke('campaign_start', { id: draft.value.id, key: 'e2e-mb-start-1' });
  first = await waitForMessages(3);
  const to = first.map((m) => m.match(/^To: .*?<?([a-z]+@example\.com)>?\s*$/m)[1]).sort();
  assert.deepEqual(to, ['alice@example.com', 'bruno@example.com', 'chloe@example.com']);
});

test("Bruno's address bounces and Chloé replies 'unsubscribe <token>'", async () => {
  const bruno = first.find((m) => m.includes('bruno@example.com'));
  const chloe = first.find((m) => m.includes('chloe@example.com'));
  const mid = bruno.match(/^Message-ID: (<[^>]+>)/im)[1];
  const token = chloe.match(/subject=unsubscribe%20([a-z0-9]{20})/)[1];
  deliver(`Return-Path: <>
Date: Mon, 24 Nov 2026 18:02:11 +0100 (CET)
From: MAILER-DAEMON@mx.receiver.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: ${SHOP}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1/mx.receiver.test"
Message-Id: <20261124170211.4Yx2Kc@mx.receiver.test>

--B1/mx.receiver.test
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.receiver.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<bruno@example.com>: host mx.example.com[192.0.2.80] said: 550 5.1.1
    <bruno@example.com>: Recipient address rejected: User unknown

--B1/mx.receiver.test
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.receiver.test

Final-Recipient: rfc822; bruno@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <bruno@example.com>: Recipient address rejected: User unknown

--B1/mx.receiver.test
Content-Type: text/rfc822-headers

From: Boutique Lea <${SHOP}>
To: bruno@example.com
Subject: Nouveautes
Message-ID: ${mid}

--B1/mx.receiver.test--
`);
  deliver(`From: chloe@example.com
To: ${SHOP}
Subject: unsubscribe ${token}
Date: Mon, 24 Nov 2026 19:01:02 +0100
Message-ID: <unsub-1@mail.example.com>

Sent by the mail app to unsubscribe.
`);
});

test('"read now" in the Retours screen reads both and says what it did', async () => {
  await go('#/campaigns');
  await (await visible('[data-testid="returns-link"]')).click();
  await visible('[data-testid="mailbox-status"]', 15_000);
  await (await visible('[data-testid="mailbox-read-now"]')).click();
  await visible('[data-testid="mailbox-reports"]', 30_000);
  await browser.waitUntil(
    async () => {
      const kinds = await browser.execute(() =>
        Array.from(document.querySelectorAll('[data-testid="mailbox-entry"]')).map((e) => `${e.dataset.kind}:${e.dataset.decision}:${e.dataset.email}`),
      );
      return kinds.includes('hard_bounce:suppressed:bruno@example.com') && kinds.includes('unsubscribe:applied:chloe@example.com');
    },
    { timeout: 20_000, timeoutMsg: 'the log does not show the bounce suppressed and the unsubscribe applied' },
  );
  await waitForText('[data-testid="suppressions"]', 'bruno@example.com');
  await waitForText('[data-testid="suppressions"]', 'chloe@example.com');
  await shot('82-returns');
  const raw = await browser.$('[data-testid="mailbox-entry"][data-kind="hard_bounce"] button.link');
  await raw.click();
  await waitForText('[data-testid="mailbox-raw"]', 'Recipient address rejected');
  await shot('83-returns-raw-report');
  const status = await invoke('mailbox_status', {});
  assert.ok(status.last_success, 'a successful reading is recorded');
});

test('the next campaign skips both addresses', async () => {
  const before = received().length;
  const draft = await invoke('campaign_create', { input: campaign('Soldes'), key: 'e2e-mb-campaign-2' });
  await invoke('campaign_start', { id: draft.value.id, key: 'e2e-mb-start-2' });
  await browser.waitUntil(async () => (await invoke('campaign_get', { id: draft.value.id })).state === 'finished', {
    timeout: 30_000,
    timeoutMsg: 'the second campaign did not finish',
  });
  const got = received().slice(before);
  assert.equal(got.length, 1, 'one message only');
  assert.ok(got[0].includes('alice@example.com'), 'to Alice, the only address that neither bounced nor unsubscribed');
});

test('the two customer pages say why they receive nothing', async () => {
  await go(`#/customers/${ids.Bruno}`);
  await waitForText('[data-testid="customer-suppression"]', 'adresse inconnue', 15_000);
  await shot('84-customer-bounced');
  await go(`#/customers/${ids.Chloé}`);
  await waitForText('[data-testid="customer-suppression"]', 'Désinscription', 15_000);
  await shot('85-customer-unsubscribed');
  await go(`#/customers/${ids.Alice}`);
  await visible('#consent-title', 15_000);
  assert.equal((await texts('[data-testid="customer-suppression"]')).length, 0, 'nothing on the page of a customer who receives messages');
});
