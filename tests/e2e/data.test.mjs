// End-to-end test of the merchant's data in the real window, the scenario: import a
// French Excel CSV (Windows-1252, `;`) with bad rows, read the report, download the rows in
// error, fix them, import that file, undo the first import; export and import the export
// again (nothing changes); make a backup, change something, restore, undo the restore;
// download a customer's access pack; erase a customer and see them gone from search while
// the revenue is unchanged. Files go in through the <input type="file"> (WebDriver fills it
// with a path) and come out through the download links, read back here byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp, stopApp, browser, shot, go, visible, waitForText, textOf, texts, invoke, fill, pageText, downloadsDir } from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(HERE, '../../src-tauri/core/tests/fixtures/import');
const work = mkdtempSync(join(tmpdir(), 'comptoir-e2e-data-'));

/** Files the window saved: WebKit puts them in the app's working folder (this one) when no
 *  download folder is set; removed at the end. */
const saved = new Set();

before(startApp);
after(async () => {
  await stopApp();
  for (const name of saved) rmSync(join(HERE, name), { force: true });
});

/** The bytes behind a download link the screen shows (the blob the app saved). */
async function downloaded(selector) {
  const link = await visible(selector);
  saved.add(await link.getAttribute('download'));
  const bytes = await browser.execute(async (sel) => {
    const a = document.querySelector(sel);
    const b = await (await fetch(a.href)).arrayBuffer();
    return Array.from(new Uint8Array(b));
  }, selector);
  return Buffer.from(bytes);
}

/** A number shown in a count line ("3 en erreur" → 3). */
async function count(testid) {
  const [text] = await texts(`[data-testid="${testid}"]`);
  return Number((text ?? '').replace(/[\s\u00a0\u202f]/g, '').match(/\d+/)?.[0] ?? NaN);
}

/** Gives the import screen a file (a new import when the last one is finished). */
async function pickFile(path) {
  await go('#/customers/import');
  if (await (await browser.$('[data-testid="import-again"]')).isExisting()) {
    await (await browser.$('[data-testid="import-again"]')).click();
  }
  const input = await browser.$('[data-testid="import-file"]');
  await input.waitForExist({ timeout: 10_000 });
  await input.addValue(path);
}

async function chooseFile(path) {
  await pickFile(path);
  await visible('[data-testid="import-mapping"]', 20_000);
}

async function previewAndImport({ skipBadRows = false } = {}) {
  await (await visible('[data-testid="import-next"]')).click();
  if (skipBadRows) await (await visible('[data-testid="bad-skip"]')).click();
  await (await visible('[data-testid="import-preview"]')).click();
  await visible('[data-testid="preview-counts"]', 30_000);
  await (await visible('[data-testid="import-run"]')).click();
  await visible('[data-testid="import-done"]', 60_000);
}

async function stats() {
  return invoke('stats_get', {});
}

test('a French Excel CSV with bad rows: report, error file fixed and imported, first import undone', async () => {
  await (await visible('#start-empty', 20_000)).click();
  await visible('#kpis', 20_000);
  await chooseFile(join(FIXTURES, 'excel-fr-windows1252.csv'));
  const summary = await pageText();
  assert.match(summary, /excel-fr-windows1252\.csv/, 'the file is named');
  assert.match(summary, /Prénom/, 'Windows-1252 headers are decoded');
  await shot('data-01-mapping');
  await previewAndImport({ skipBadRows: true });
  await shot('data-02-report');
  const errors = await count('report-errors');
  assert.ok(errors >= 2, `the bad rows are reported (${errors})`);
  const report = await pageText();
  assert.match(report, /jean\.durand@@example\.com/, 'the invalid email is shown with its reason');
  assert.match(report, /31\/02\/1985/, 'the impossible date too');
  assert.doesNotMatch(await browser.getTitle(), /alert/);

  await (await visible('[data-testid="error-file"]')).click();
  const errorFile = await downloaded('[data-testid="saved-link"]');
  const text = new TextDecoder('windows-1252').decode(errorFile);
  assert.ok(!text.startsWith('\ufeff') && /Erreur/.test(text.split(/\r?\n/)[0]), 'an "Erreur" column in the file\'s own encoding');
  assert.match(text.split(/\r?\n/)[0], /;/, 'and its own separator');
  assert.match(text, /jean\.durand@@example\.com/);

  // The merchant fixes the rows in Excel and saves (still Windows-1252, still `;`).
  const fixed = text.replace('jean.durand@@example.com', 'jean.durand@example.com').replace('31/02/1985', '28/02/1985');
  const fixedPath = join(work, 'lignes-corrigees.csv');
  writeFileSync(fixedPath, Buffer.from(fixed, 'latin1'));
  await chooseFile(fixedPath);
  await previewAndImport({ skipBadRows: true });
  assert.ok((await count('report-new')) >= 2, 'the fixed rows come in');
  assert.ok((await count('report-errors')) < errors, 'fewer errors once fixed');
  assert.equal((await invoke('customers_search', { query: 'jean.durand@', limit: 5 })).length, 1, 'the fixed email is in');
  await shot('data-03-fixed-imported');
  const afterBoth = (await stats()).customers_active;

  // Undo the first import: its customers go, the fixed ones stay.
  const first = await browser.$$('[data-testid="import-history"] li');
  const last = first[first.length - 1];
  await (await last.$('button')).click();
  await (await last.$('button.danger')).click();
  await visible('[data-testid="undo-done"]');
  await shot('data-04-undone');
  const afterUndo = (await stats()).customers_active;
  assert.ok(afterUndo < afterBoth && afterUndo >= 2, `the first import's customers are removed (${afterBoth} → ${afterUndo})`);
});

test('export, then import the export again: nothing changes', async () => {
  await go('#/customers/export');
  await (await visible('[data-testid="format-csv_excel_fr"]')).click();
  await (await visible('[data-testid="export-run"]')).click();
  const csv = await downloaded('[data-testid="export-link"]');
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'Excel France: UTF-8 with a BOM');
  assert.match(csv.toString('utf8').split('\r\n')[0], /;/, 'with semicolons and CRLF');
  // The file is also in the Downloads folder, not the app's working folder.
  await browser.waitUntil(
    () => existsSync(downloadsDir()) && readdirSync(downloadsDir()).some((f) => f.endsWith('.csv')),
    { timeout: 10_000, timeoutMsg: `no export in the Downloads folder ${downloadsDir()}` },
  );
  const path = join(work, 'export.csv');
  writeFileSync(path, csv);
  await chooseFile(path);
  await (await visible('[data-testid="import-next"]')).click();
  await (await visible('[data-testid="import-preview"]')).click();
  await visible('[data-testid="preview-counts"]', 30_000);
  assert.equal(await count('preview-new'), 0, 'nobody new');
  assert.equal(await count('preview-updated'), 0, 'nobody changed: the round trip is lossless');
  assert.equal(await count('preview-errors'), 0);
  await shot('data-05-reimport-preview');
});

test('a workbook: its title line passed, its sheets offered, its dates and lost zeros read', async () => {
  await go('#/customers'); // the last test left the wizard on its preview
  await chooseFile(join(FIXTURES, 'excel-serial-dates.xlsx'));
  assert.equal(await (await visible('#import-header')).getValue(), '2', 'the header row is found under the title line');
  const sheets = await texts('#import-sheet option');
  assert.deepEqual(sheets, ['Clients', 'Fournisseurs'], 'the sheets to choose from');
  const headers = await texts('[data-testid="import-mapping"] tbody th');
  assert.deepEqual(headers.slice(0, 3), ['Nom', 'Prénom', 'Téléphone']);
  await shot('data-05w-workbook-mapping');
  await previewAndImport();
  assert.equal(await count('report-new'), 3, 'the three customers come in');
  const [elodie] = await invoke('customers_search', { query: 'elodie@example.com', limit: 5 });
  assert.ok(elodie, 'found by email');
  const full = await invoke('customer_get', { id: elodie.id });
  assert.equal(full.phone_e164, '+33612345678', 'the phone got its leading zero back');
  assert.equal(full.address.postcode, '01000', 'the postcode too');
});

test('a broken workbook that makes its reader crash: a message, and the app goes on', async () => {
  // An XLS (OLE compound file) whose directory's next sector is looked up in an empty table:
  // the workbook library panics on it. It is read in a child process: the child dies, not the app.
  const file = Buffer.alloc(1024, 0);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(file, 0);
  file.writeUInt16LE(0x3e, 24);
  file.writeUInt16LE(3, 26);
  file.writeUInt16LE(0xfffe, 28);
  file.writeUInt16LE(9, 30);
  file.writeUInt16LE(6, 32);
  file.writeUInt32LE(0xfffffffe, 60);
  file.writeUInt32LE(0xfffffffe, 68);
  file.fill(0xff, 76, 512);
  const path = join(work, 'classeur-abime.xls');
  writeFileSync(path, file);
  await pickFile(path);
  const alert = await visible('[data-testid="import-error"]', 20_000);
  assert.match(await alert.getText(), /ne peut pas être lu/, 'the merchant is told the file cannot be read');
  await shot('data-05b-broken-workbook');
  // The app is still there: the next workbook opens.
  await chooseFile(join(FIXTURES, 'excel-97.xls'));
  assert.ok((await texts('[data-testid="import-mapping"] tbody th')).length > 0, 'the next file is mapped');
  await go('#/customers'); // the wizard is left on its mapping: the next test starts a new import
});

test("a CSV whose lines run to Excel's last column: only the columns holding something are listed", async () => {
  // Excel writes each line of a CSV to the widest column ever used in the sheet.
  const pad = ';'.repeat(16_380);
  const lines = [`Nom;Prénom;E-mail;Ville${pad}`, `Large;Anne;anne.large@example.com;Lyon${pad}`, `Large;Bruno;bruno.large@example.com;Nantes${pad}`];
  const path = join(work, 'colonnes-excel.csv');
  writeFileSync(path, lines.join('\r\n') + '\r\n', 'utf8');
  await chooseFile(path);
  assert.equal((await browser.$$('[data-testid="import-mapping"] tbody tr')).length, 4, 'four columns to map, not 16,384');
  const [note] = await texts('[data-testid="import-hidden-columns"]');
  assert.match(note ?? '', /16[\s\u00a0\u202f]?380/, `the screen says how many are not shown: ${note}`);
  await shot('data-05x-wide-csv');
  await previewAndImport();
  assert.equal(await count('report-new'), 2, 'both customers come in');
});

test('a title, blank lines, the headers on line 5 and a phone without a header: chosen and mapped on the screen', async () => {
  await go('#/customers');
  const lines = ['Export de la caisse du 01/12/2026;;', ';;', ';;', ';;', 'Nom;Prénom;E-mail', 'Titre;Léa;lea.titre@example.com;06 11 22 33 44'];
  const path = join(work, 'caisse-titre.csv');
  writeFileSync(path, lines.join('\r\n') + '\r\n', 'utf8');
  await chooseFile(path);
  const choices = await browser.execute(() => Array.from(document.querySelectorAll('#import-header option')).map((o) => o.value));
  assert.ok(choices.includes('4'), `line 5 can be chosen as the header row: ${choices}`);
  if ((await (await visible('#import-header')).getValue()) !== '4') {
    await (await visible('#import-header')).selectByAttribute('value', '4');
    await browser.waitUntil(async () => (await (await browser.$('#import-header')).getValue()) === '4', { timeout: 10_000 });
  }
  await browser.waitUntil(async () => (await texts('[data-testid="import-mapping"] tbody th')).length === 4, {
    timeout: 10_000,
    timeoutMsg: 'the column of phones without a header is listed',
  });
  const headers = await texts('[data-testid="import-mapping"] tbody th');
  assert.deepEqual(headers.slice(0, 3), ['Nom', 'Prénom', 'E-mail']);
  await (await visible('[data-testid="map-3"]')).selectByAttribute('value', 'phone');
  await shot('data-05t-title-and-unnamed-column');
  await previewAndImport();
  assert.equal(await count('report-new'), 1);
  const [lea] = await invoke('customers_search', { query: 'lea.titre@example.com', limit: 5 });
  assert.ok(lea, 'found by email');
  assert.equal((await invoke('customer_get', { id: lea.id })).phone_e164, '+33611223344', 'the unnamed column mapped to the phone came in');
});

test("Excel's Unicode text (UTF-16, tabs): read as typed, its rows in error come back in UTF-16", async () => {
  await go('#/customers');
  await chooseFile(join(FIXTURES, 'excel-texte-unicode.txt'));
  assert.equal(await (await visible('[data-testid="import-encoding"]')).getValue(), 'utf16le', 'UTF-16 is recognised');
  const [tab] = await browser.execute(() => {
    const s = document.querySelector('#import-delimiter');
    return [s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : ''];
  });
  assert.match(tab, /tab/i, `the separator shown is the tab: "${tab}"`);
  const headers = await texts('[data-testid="import-mapping"] tbody th');
  assert.deepEqual(headers.slice(0, 4), ['Nom', 'Prénom', 'E-mail', 'Téléphone'], 'its headers read as typed');
  await shot('data-05u-utf16-mapping');
  await previewAndImport({ skipBadRows: true });
  assert.equal(await count('report-errors'), 3, 'the same bad rows as the French CSV');
  await (await visible('[data-testid="error-file"]')).click();
  const errorFile = await downloaded('[data-testid="saved-link"]');
  assert.deepEqual([...errorFile.subarray(0, 2)], [0xff, 0xfe], 'written back in UTF-16 with its mark');
  const text = new TextDecoder('utf-16le').decode(errorFile.subarray(2));
  assert.match(text.split('\r\n')[0], /^Nom\tPrénom\t.*\tErreur$/, 'its tabs and an "Erreur" column');
});

test('a UTF-8 file with one line from an old Windows program: that line named, every accent kept', async () => {
  await go('#/customers');
  await chooseFile(join(FIXTURES, 'utf8-une-ligne-windows1252.csv'));
  assert.equal(await (await visible('[data-testid="import-encoding"]')).getValue(), 'utf8', 'read as UTF-8');
  await waitForText('[data-testid="import-stray-lines"]', 'Windows-1252');
  const notice = await textOf('[data-testid="import-stray-lines"]');
  assert.match(notice, /\b5\b/, `line 5 is named: "${notice}"`);
  await shot('data-05w-stray-lines');
  // Read whole as Windows-1252, the file has no line apart: the notice goes.
  await (await visible('[data-testid="import-encoding"]')).selectByAttribute('value', 'windows1252');
  await browser.waitUntil(async () => !(await (await browser.$('[data-testid="import-stray-lines"]')).isExisting()), {
    timeout: 10_000,
    timeoutMsg: 'no notice once the file is read as Windows-1252',
  });
  await (await visible('[data-testid="import-encoding"]')).selectByAttribute('value', 'utf8');
  await visible('[data-testid="import-stray-lines"]');
  await previewAndImport();
  const hits = await invoke('customers_search', { query: 'gael.cote', limit: 5 });
  assert.equal(hits.length, 1, 'one customer for the pasted line');
  assert.match(hits[0].display_name, /Gaël/, `the Windows-1252 line keeps its accents: "${hits[0].display_name}"`);
  assert.match(hits[0].display_name, /Côté/, `and its family name's: "${hits[0].display_name}"`);
});

test('a search is exported whole with its count, not only the 20 rows the list shows', async () => {
  const more = Array.from({ length: 20 }, (_, i) => `Zélie${String(i + 1).padStart(2, '0')}`);
  for (const first of ['Anouk', 'Basile', 'Céleste', ...more]) {
    await invoke('customer_create', {
      input: {
        customer: {
          first_name: first, last_name: 'Exportéà', email: `${first.toLowerCase()}.liste@example.com`, phone: '',
          address: { line1: '', line2: '', postcode: '', city: '', country: null }, birthday: null, language: null, tags: [],
        },
        consent: null, note: '',
      },
      key: crypto.randomUUID(),
    });
  }
  await go('#/customers');
  await fill('#customer-search', 'Exportéà');
  await browser.waitUntil(async () => (await browser.$$('[data-customer-row]')).length === 20, {
    timeout: 10_000, timeoutMsg: 'the search shows its first 20 customers',
  });
  await (await visible('#export-customers')).click();
  const select = await visible('[data-testid="export-scope"]');
  assert.equal(await select.getValue(), 'list', 'the list as shown is chosen');
  const label = await (await browser.$('[data-testid="export-scope-list"]')).getText();
  assert.match(label, /Exportéà/, 'it names the search');
  await browser.waitUntil(async () => /23\s+clients/.test(await (await browser.$('[data-testid="export-scope-list"]')).getText()), {
    timeout: 10_000, timeoutMsg: 'the label counts every customer the search finds (23), not the 20 rows shown',
  });
  await shot('data-05b-export-list');
  await (await visible('[data-testid="format-csv_standard"]')).click();
  await (await visible('[data-testid="export-run"]')).click();
  const csv = (await downloaded('[data-testid="export-link"]')).toString('utf8');
  const lines = csv.split('\r\n').filter((l) => l !== '');
  assert.equal(lines.length, 24, `a header and the 23 customers found, nobody else:\n${csv}`);
  for (const first of ['Anouk', 'Basile', 'Céleste']) assert.match(csv, new RegExp(`${first},Exportéà`));
  // The whole list is still a choice.
  await select.selectByAttribute('value', 'all');
  assert.equal(await select.getValue(), 'all');
});

test('a backup, a change, a restore, and the restore undone', async () => {
  await go('#/settings/backups');
  await (await visible('[data-testid="backup-now"]', 20_000)).click();
  await waitForText('[role="status"]', 'Sauvegarde faite');
  await shot('data-06-backups');
  const before = (await stats()).customers_active;
  await invoke('customer_create', {
    input: {
      customer: {
        first_name: 'Après', last_name: 'Sauvegarde', email: 'apres@example.com', phone: '',
        address: { line1: '', line2: '', postcode: '', city: '', country: null }, birthday: null, language: null, tags: [],
      },
      consent: null, note: '',
    },
    key: crypto.randomUUID(),
  });
  assert.equal((await stats()).customers_active, before + 1);
  await go('#/settings');
  await go('#/settings/backups');
  const manual = await browser.$$('[data-testid="backup-list"] li');
  // The newest first: the one just made on request.
  assert.match(await manual[0].getText(), /à la demande/);
  await (await manual[0].$('button')).click();
  await waitForText('[data-testid="restore-summary"]', 'contient');
  await shot('data-07-restore-summary');
  assert.equal((await stats()).customers_active, before + 1, 'nothing changes before the merchant confirms');
  await (await visible('[data-testid="restore-confirm"]')).click();
  await visible('[data-testid="restore-done"]', 30_000);
  assert.equal((await stats()).customers_active, before, 'the customer added after the backup is gone');
  await shot('data-08-restored');
  await (await visible('[data-testid="restore-undo"]')).click();
  await browser.waitUntil(async () => (await stats()).customers_active === before + 1, {
    timeout: 30_000,
    timeoutMsg: 'the restore was never undone',
  });
});

test('backups encrypted with a passphrase: the automatic one needs nothing typed, a restore and its undo ask for it', async () => {
  await go('#/settings/backups');
  await visible('[data-testid="encryption-off"]', 20_000);
  // Two different passphrases are refused before anything is sent.
  await fill('[data-testid="backup-pass-new"]', 'les roses de Zoé, rue Pasteur');
  await fill('[data-testid="backup-pass-again"]', 'les roses de zoé, rue Pasteur');
  await (await visible('[data-testid="backup-pass-save"]')).click();
  await waitForText('#backup-pass-mismatch', 'pas identiques');
  // Too short: refused by the core against its field.
  await fill('[data-testid="backup-pass-new"]', 'rose');
  await fill('[data-testid="backup-pass-again"]', 'rose');
  await (await visible('[data-testid="backup-pass-save"]')).click();
  await waitForText('[data-error-for="passphrase"]', '10 caractères');
  await fill('[data-testid="backup-pass-new"]', 'les roses de Zoé, rue Pasteur');
  await fill('[data-testid="backup-pass-again"]', 'les roses de Zoé, rue Pasteur');
  await (await visible('[data-testid="backup-pass-save"]')).click();
  await waitForText('[data-testid="encryption-on"]', 'chiffrées depuis', 20_000);
  assert.equal(await (await browser.$('[data-testid="backup-pass-new"]')).getValue(), '', 'the passphrase is not left in the form');
  // The merchant checks they know it.
  await fill('[data-testid="backup-pass-probe"]', 'les roses de zoé, rue Pasteur');
  await (await visible('[data-testid="backup-pass-check"]')).click();
  await waitForText('[data-testid="check-result"]', "Ce n'est pas la bonne", 20_000);
  await fill('[data-testid="backup-pass-probe"]', 'les roses de Zoé, rue Pasteur');
  await (await visible('[data-testid="backup-pass-check"]')).click();
  await waitForText('[data-testid="check-result"]', "C'est la bonne", 20_000);
  await shot('data-08b-encryption-on');

  // A backup taken without typing anything (as the hourly one is) is encrypted.
  await (await visible('[data-testid="backup-now"]')).click();
  await waitForText('[role="status"]', 'Sauvegarde faite', 20_000);
  const rows = await browser.$$('[data-testid="backup-list"] li');
  assert.match(await rows[0].getText(), /chiffrée/);
  const before = (await stats()).customers_active;
  await invoke('customer_create', {
    input: {
      customer: {
        first_name: 'Chiffré', last_name: 'Ensuite', email: 'ensuite@example.com', phone: '',
        address: { line1: '', line2: '', postcode: '', city: '', country: null }, birthday: null, language: null, tags: [],
      },
      consent: null, note: '',
    },
    key: crypto.randomUUID(),
  });
  await go('#/settings');
  await go('#/settings/backups');
  // The list is read when the screen opens: wait for it rather than take what is there yet.
  await (await visible('[data-testid="backup-list"] li button')).click();
  await fill('#restore-pass', 'les roses de Zoé, rue Pasteur');
  await (await visible('[data-testid="restore-summary"] button[type="submit"]')).click();
  await waitForText('[data-testid="restore-summary"]', 'contient', 30_000);
  await (await visible('[data-testid="restore-confirm"]')).click();
  await visible('[data-testid="restore-done"]', 30_000);
  assert.equal((await stats()).customers_active, before, 'the encrypted backup was restored');
  await visible('[data-testid="encryption-on"]');
  // The undo copy is encrypted like this computer's backups: its passphrase is asked for.
  await fill('[data-testid="undo-pass"]', 'les roses de Zoé, rue Pasteur');
  await shot('data-08c-undo-asks-passphrase');
  await (await visible('[data-testid="restore-undo"]')).click();
  await browser.waitUntil(async () => (await stats()).customers_active === before + 1, {
    timeout: 30_000,
    timeoutMsg: 'the restore was never undone',
  });
  // Back to plain backups, after a warning.
  await go('#/settings');
  await go('#/settings/backups');
  await (await visible('[data-testid="encryption-off-button"]', 20_000)).click();
  await waitForText('#encryption-off-warning', 'lisibles');
  await (await visible('[data-testid="encryption-off-yes"]')).click();
  await visible('[data-testid="encryption-off"]', 20_000);
});

test("a customer's access pack, then the customer erased: gone from search, revenue unchanged", async () => {
  // Jean Durand came in with the fixed file (the first import, with Élodie, was undone).
  const list = await invoke('customers_search', { query: 'Durand', limit: 5 });
  assert.equal(list.length, 1, 'Jean Durand was imported');
  const id = list[0].id;
  await invoke('sale_record', {
    input: { customer_id: id, amount_cents: 4250, occurred_at: null, note: '', category: '', apply: null },
    key: crypto.randomUUID(),
  });
  const revenue = (await stats()).revenue_cents;
  await go(`#/customers/${id}`);
  await (await visible('[data-testid="access-pack"]', 20_000)).click();
  const zip = await downloaded('[data-testid="access-pack-link"]');
  assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK', 'a zip');
  assert.ok(zip.includes(Buffer.from('page.html')), 'with its printable page');

  await (await visible('[data-testid="erase"]')).click();
  const name = await (await visible('#customer-name')).getText();
  await fill('[data-testid="erase-name"]', name);
  await shot('data-09-erase-confirm');
  await (await visible('[data-testid="erase-confirm"]')).click();
  await visible('#customer-search', 20_000);
  await fill('#customer-search', 'Durand');
  await browser.waitUntil(
    async () => (await texts('[data-customer-row]')).length === 0 && (await texts('.empty')).some((x) => x.includes('Durand')),
    { timeout: 10_000, timeoutMsg: 'the erased customer is still found by the search' },
  );
  await shot('data-10-erased-not-found');
  assert.deepEqual(await invoke('customers_search', { query: 'Durand', limit: 5 }), [], 'gone from search');
  assert.deepEqual(await invoke('customers_search', { query: 'jean.durand@', limit: 5 }), []);
  assert.equal((await stats()).revenue_cents, revenue, "the shop's revenue is unchanged");
});

test('a 30,000-line file with hostile text: a counted bar, a cancel that leaves nothing, then every row in', async () => {
  // Accents, emojis, markup and a formula in names, as a file passed from hand to hand has.
  const rows = 30_000;
  const habit = 'Préfère le pain de campagne, vient le samedi matin avec son chien. '.repeat(2);
  const lines = ['Nom;Prénom;E-mail;Ville;Notes'];
  for (let i = 0; i < rows; i++) {
    const first =
      i === 7 ? '<script>window.__pwned = 1</script>' : i === 8 ? '<img src=x onerror="window.__pwned = 1">' : i % 3 ? 'Gaël' : 'Zoé 🌸';
    const last = i === 9 ? '=HYPERLINK("https://example.invalid")' : `Côté-Grand${i}`;
    lines.push(`${last};${first};grand.${i}@example.com;Montréal;« note » ${i} ${habit}`);
  }
  const path = join(work, 'grand-fichier.csv');
  writeFileSync(path, lines.join('\r\n') + '\r\n', 'utf8');
  // Larger than one piece of the upload (4 MiB), cut wherever it falls (inside a line, inside
  // an é): every row must still come in whole.
  assert.ok(statSync(path).size > 4 * 1024 * 1024, 'the file is sent in more than one piece');
  await chooseFile(path);
  await (await visible('[data-testid="import-next"]')).click();
  await (await visible('[data-testid="import-preview"]')).click();
  await visible('[data-testid="preview-counts"]', 180_000);
  const before = (await stats()).customers_active;

  // Cancel while the rows are being counted (clicked as soon as the count moves, the picture
  // after): nothing of the file is written.
  await (await visible('[data-testid="import-run"]')).click();
  await browser.waitUntil(
    async () => /[1-9][\d\s\u00a0\u202f]*\/\s*30[\s\u00a0\u202f]?000/.test((await texts('[data-testid="import-progress"]'))[0] ?? ''),
    { timeout: 60_000, interval: 50, timeoutMsg: 'the bar never counted rows' },
  );
  await (await browser.$('[data-testid="import-cancel"]')).click();
  await shot('data-11-large-import-cancelled');
  await waitForText('[data-testid="import-error"]', "rien n'a été enregistré", 60_000);
  await visible('[data-testid="import-run"]', 60_000);
  assert.equal((await stats()).customers_active, before, 'a cancelled import writes nothing');

  // The whole file, this time: the bar says when every row is read and the rest has no count.
  // The page notes that moment itself, however short it is.
  await browser.execute(() => {
    window.__sawFinishing = false;
    const seen = new MutationObserver(() => {
      if (document.querySelector('[data-testid="import-finishing"]')) window.__sawFinishing = true;
    });
    seen.observe(document.body, { childList: true, subtree: true });
    window.__stopWatching = () => seen.disconnect();
  });
  await (await visible('[data-testid="import-run"]')).click();
  await browser.waitUntil(
    async () => {
      if (await (await browser.$('[data-testid="import-finishing"]')).isExisting()) await shot('data-12-large-import-finishing');
      return (await browser.$('[data-testid="import-done"]')).isExisting();
    },
    { timeout: 180_000, interval: 200, timeoutMsg: 'the import never finished' },
  );
  const finishing = await browser.execute(() => {
    window.__stopWatching();
    return window.__sawFinishing;
  });
  assert.ok(finishing, 'once every row is read the bar says the import is finishing, not 100 % and stuck');
  assert.equal((await stats()).customers_active, before + rows, 'every row is a customer');
  // The line the first piece ends in came in whole, accents and emoji included.
  let at = 0;
  const cut = lines.findIndex((l) => (at += Buffer.byteLength(l + '\r\n')) > 4 * 1024 * 1024);
  const [across] = await invoke('customers_search', { query: `grand.${cut - 1}@example.com`, limit: 1 });
  const [last, first] = lines[cut].split(';');
  assert.equal(across?.display_name, `${first} ${last}`, `line ${cut + 1}, cut between two pieces, is read whole`);

  // The markup is a name, shown as text; nothing of it runs.
  const [found] = await invoke('customers_search', { query: 'grand.7@example.com', limit: 1 });
  await go(`#/customers/${found.id}`);
  // Leaving the import screens lets the file go: its copy beside the shop's file is removed.
  const copies = join(dirname(downloadsDir()), 'import-files');
  await browser.waitUntil(async () => !existsSync(copies) || readdirSync(copies).length === 0, {
    timeout: 10_000,
    timeoutMsg: `copies of imported files left in ${copies}`,
  });
  await waitForText('#customer-name', '<script>');
  await shot('data-13-hostile-name');
  const ran = await browser.execute(() => window.__pwned ?? null);
  assert.equal(ran, null, 'no script from a name ever runs');
  assert.equal(await browser.execute(() => document.querySelectorAll('img[src="x"]').length), 0, 'no element from a name');
});
