// The customer list's columns: which ones are shown (the merchant's choice, kept on this
// computer), the grid they make, and the order each one sorts by. The name always shows; the
// scores' columns (RFM segment, churn risk, expected value, last satisfaction score) read the
// scores the background computes.
import type { SortBy } from '$lib/generated/SortBy';

export type ColumnKey = 'contact' | 'visits' | 'total' | 'last_visit' | 'segment' | 'churn' | 'value' | 'nps';

export interface Column {
  key: ColumnKey;
  /** The header's catalogue key (short). */
  label: string;
  /** Its full name, in the choice of columns and for screen readers. */
  long: string;
  /** The grid track. */
  width: string;
  num: boolean;
  /** The order a click on the header gives, when the column has one. */
  sort: SortBy | null;
}

export const COLUMNS: readonly Column[] = [
  { key: 'contact', label: 'ui.customers.col_contact', long: 'ui.customers.col_contact', width: 'minmax(8rem, 1.5fr)', num: false, sort: null },
  { key: 'visits', label: 'ui.customers.col_visits', long: 'ui.customers.col_visits', width: '5.5rem', num: true, sort: null },
  { key: 'total', label: 'ui.customers.col_total', long: 'ui.customers.col_total', width: '7rem', num: true, sort: 'total_spent' },
  { key: 'last_visit', label: 'ui.customers.col_last_visit', long: 'ui.customers.col_last_visit', width: '7rem', num: true, sort: 'last_visit' },
  { key: 'segment', label: 'ui.customers.col_segment', long: 'ui.numbers.col.segment', width: 'minmax(6.5rem, 1fr)', num: false, sort: 'segment' },
  { key: 'churn', label: 'ui.customers.col_churn', long: 'ui.numbers.col.churn', width: '6.5rem', num: false, sort: 'churn_risk' },
  { key: 'value', label: 'ui.customers.col_value', long: 'ui.numbers.col.clv', width: '7rem', num: true, sort: 'expected_value' },
  { key: 'nps', label: 'ui.customers.col_nps', long: 'ui.numbers.col.nps', width: '5.5rem', num: true, sort: null },
];

/** Hidden on a first start, so the rest fits the window's default width: the visits (in the
 * segment's frequency already) and the satisfaction score (the fewest customers have one). */
export const DEFAULT_HIDDEN: readonly ColumnKey[] = ['visits', 'nps'];
export const DEFAULT_COLUMNS: readonly ColumnKey[] = COLUMNS.map((c) => c.key).filter((k) => !DEFAULT_HIDDEN.includes(k));

/** The merchant's choice is kept as the columns they hid: a column a later version adds shows. */
const STORAGE_KEY = 'comptoir.customer_columns_hidden';

/** Rule: the columns shown are all but the ones a stored choice hides, in the list's own
 * order; unknown keys are ignored; an unreadable or foreign choice gives the default, so a
 * damaged preference never empties the list. */
export function parseColumns(raw: string | null): ColumnKey[] {
  if (raw === null) return [...DEFAULT_COLUMNS];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [...DEFAULT_COLUMNS];
  }
  if (!Array.isArray(parsed)) return [...DEFAULT_COLUMNS];
  return COLUMNS.map((c) => c.key).filter((k) => !parsed.includes(k));
}

/** The grid's tracks: the name, then each shown column. */
export function gridTemplate(shown: readonly ColumnKey[]): string {
  const tracks = COLUMNS.filter((c) => shown.includes(c.key)).map((c) => c.width);
  return ['minmax(9rem, 1.2fr)', ...tracks].join(' ');
}

export function loadColumns(): ColumnKey[] {
  try {
    return parseColumns(typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY));
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

export function saveColumns(shown: readonly ColumnKey[]): void {
  try {
    const hidden = COLUMNS.map((c) => c.key).filter((k) => !shown.includes(k));
    if (typeof localStorage !== 'undefined') localStorage.setItem(STORAGE_KEY, JSON.stringify(hidden));
  } catch {
    // A full or refused storage keeps today's choice for this session only.
  }
}
