import { describe, expect, it } from 'vitest';
import { clashes, exampleRow, finishing, listedIds, mimeOf, namesSomeone, percent, safeFileName, today } from './files';

describe('data file helpers', () => {
  it('shows as example the first row after the header row that is not blank', () => {
    const sample = [['Export du 01/12'], ['Nom', 'Courriel'], [' ', ''], ['Anne', 'anne@example.com']];
    expect(exampleRow(sample, 1), 'the row after the headers, blank rows passed').toEqual(['Anne', 'anne@example.com']);
    expect(exampleRow(sample, 0), 'a header row chosen higher up shows the row after it').toEqual(['Nom', 'Courriel']);
    expect(exampleRow(sample, 3), 'no row after the headers: no example').toEqual([]);
  });
  it('reads the ids of the list shown from the address, and nothing else', () => {
    expect(listedIds('12,7,3'), 'in the order shown').toEqual([12, 7, 3]);
    expect(listedIds('4,4,x,-1,0,1.5,,9e99, 8 '), 'positive integers only, each once').toEqual([4, 8]);
    expect(listedIds(undefined)).toEqual([]);
    expect(listedIds(Array.from({ length: 5000 }, (_, i) => i + 1).join(',')).length, 'at most 1,000').toBe(1000);
  });

  it('keeps a name a file system accepts, whatever the customer is called', () => {
    expect(safeFileName('donnees-client-Zoé <script>.zip'), 'markup characters are replaced').toBe('donnees-client-Zoé _script_.zip');
    expect(safeFileName('../../etc/passwd'), 'no path can be walked').toBe('_.._etc_passwd');
    expect(safeFileName('   '), 'an empty name gets a default').toBe('fichier');
    expect(safeFileName('a'.repeat(300)).length, 'a name is capped').toBe(120);
  });

  it('gives each saved file its type', () => {
    expect(mimeOf('clients.csv')).toBe('text/csv');
    expect(mimeOf('clients.xlsx')).toContain('spreadsheetml');
    expect(mimeOf('pack.zip')).toBe('application/zip');
  });

  it('finds two columns sent to one field, except the fields that join', () => {
    expect(clashes(['email', 'phone', 'email']), 'a second email column clashes').toEqual([2]);
    expect(clashes(['notes', 'notes', 'tags', 'tags', 'ignore', 'ignore']), 'notes and tags join').toEqual([]);
  });

  it('needs a column that names the person', () => {
    expect(namesSomeone(['ignore', 'phone'])).toBe(false);
    expect(namesSomeone(['ignore', 'full_name'])).toBe(true);
    expect(namesSomeone(['email'])).toBe(true);
  });

  it('shows progress in whole percent, never over 100 nor on an empty file', () => {
    expect(percent(0, 0)).toBe(0);
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 4)).toBe(100);
  });

  it('says the import is finishing once every row is read, never on an empty file', () => {
    expect(finishing({ done: 0, total: 0 }), 'an empty file has nothing to finish').toBe(false);
    expect(finishing({ done: 99, total: 100 }), 'a row left: still counting, still cancellable').toBe(false);
    expect(finishing({ done: 100, total: 100 }), 'every row read: finishing').toBe(true);
  });

  it('dates a file name in local time', () => {
    expect(today(new Date(2026, 0, 5, 23, 30))).toBe('2026-01-05');
  });
});
