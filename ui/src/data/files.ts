// Files in and out of the data screens. Reading: an <input type="file"> gives a File, sent to
// the core as raw bytes. Saving: the bytes the core returned become a blob link with a
// `download` name; the link stays on screen ("download again") so a file is never lost if the
// first click was missed. Names are built here from the core's stem and today's date only.
import type { Field } from '$lib/generated/Field';
import type { RowKind } from '$lib/generated/RowKind';
import type { TextEncoding } from '$lib/generated/TextEncoding';

export interface Saved {
  url: string;
  name: string;
}

/** Mime types of what the data screens save. */
export function mimeOf(name: string): string {
  if (name.endsWith('.csv')) return 'text/csv';
  if (name.endsWith('.xlsx')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (name.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}

/** A file name without anything a file system refuses (a customer's name may hold anything). */
export function safeFileName(name: string): string {
  const cleaned = Array.from(name.normalize('NFC'), (c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? '_' : c))
    .join('')
    .replace(/[\\/:*?"<>|]/g, '_')
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 120);
  return cleaned === '' ? 'fichier' : cleaned;
}

/** Offer `bytes` as a download named `name`; returns the link (to show it again). */
export function saveBytes(bytes: Uint8Array, name: string, previous?: Saved | null): Saved {
  if (previous) URL.revokeObjectURL(previous.url);
  const safe = safeFileName(name);
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mimeOf(safe) }));
  const a = document.createElement('a');
  a.href = url;
  a.download = safe;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  return { url, name: safe };
}

/** The text encodings a CSV may be read in, with their usual names (not translated). */
export const ENCODINGS: [TextEncoding, string][] = [
  ['utf8', 'UTF-8'],
  ['windows1252', 'Windows-1252 (Excel)'],
  ['iso8859-15', 'ISO-8859-15'],
  ['mac-roman', 'Mac Roman'],
  ['utf16le', 'UTF-16 LE'],
  ['utf16be', 'UTF-16 BE'],
];

/** The fields offered for a column, in the order of a customer card. */
export const FIELDS: Field[] = [
  'ignore',
  'first_name',
  'last_name',
  'full_name',
  'email',
  'phone',
  'address_line1',
  'address_line2',
  'postcode',
  'city',
  'country',
  'birthday',
  'language',
  'notes',
  'tags',
  'consent',
  'unsubscribed',
  'points',
  'stamps',
  'card_number',
  'spent_before',
];

/** Fields that may hold one column only (the others' values are joined). */
const SINGLE = new Set<Field>(FIELDS.filter((f) => !['ignore', 'notes', 'tags', 'address_line2'].includes(f)));

/** Rule: the columns that map to a field already taken by an earlier column. */
export function clashes(columns: Field[]): number[] {
  const seen = new Set<Field>();
  const out: number[] = [];
  columns.forEach((f, i) => {
    if (SINGLE.has(f) && seen.has(f)) out.push(i);
    seen.add(f);
  });
  return out;
}

/** Rule: the example shown beside each header is the first row after the header row that is not blank. */
export function exampleRow(sample: string[][], headerRow: number): string[] {
  return sample.slice(headerRow + 1).find((row) => row.some((c) => c.trim() !== '')) ?? [];
}

/** Rule: a mapping can be imported when some column names the person. */
export function namesSomeone(columns: Field[]): boolean {
  return columns.some((f) => f === 'first_name' || f === 'last_name' || f === 'full_name' || f === 'email');
}

/** Row kinds in the order the preview shows them (what needs the merchant first). */
export const KINDS: RowKind[] = ['error', 'new', 'update', 'unchanged', 'skipped', 'erased'];

/** Rule: the share done, in whole percent, never over 100 (for the progress bar). */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((done * 100) / total));
}

/**
 * Rule: every row is read but the work is not over (the search index, the commit, the
 * preview's rollback): the bar has no count left to show and cancelling is no longer heard.
 * An empty file has nothing to finish.
 */
export function finishing(p: { done: number; total: number }): boolean {
  return p.total > 0 && p.done >= p.total;
}

/** Today as yyyy-mm-dd in local time, for file names. */
export function today(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/** The customer ids of the list the export was opened from ("12,7,3" in the address): positive
 *  integers only, each once, in the order shown, at most 1,000. */
export function listedIds(raw: string | undefined): number[] {
  const seen = new Set<number>();
  for (const part of (raw ?? '').split(',')) {
    const n = Number(part.trim());
    if (part.trim() !== '' && Number.isSafeInteger(n) && n > 0) seen.add(n);
    if (seen.size >= 1000) break;
  }
  return [...seen];
}
