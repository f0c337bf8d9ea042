// The customer list's columns: a stored choice is read safely and makes the grid.
import { describe, expect, it } from 'vitest';
import { COLUMNS, DEFAULT_COLUMNS, gridTemplate, parseColumns } from './columns';

describe('customer list columns', () => {
  it('shows every column but those a stored choice hides, in the list order', () => {
    expect(parseColumns('["nps","contact"]'), 'the list order').toEqual(['visits', 'total', 'last_visit', 'segment', 'churn', 'value']);
    expect(parseColumns('["segment","<script>","name"]'), 'unknown keys are ignored').not.toContain('segment');
    expect(parseColumns('[]'), 'nothing hidden: every column').toEqual(COLUMNS.map((c) => c.key));
    expect(parseColumns('["brand_new_column_of_a_later_version"]').length, 'a column added later shows').toBe(COLUMNS.length);
  });

  it('falls back to the default on a missing or damaged preference', () => {
    for (const raw of [null, '', 'not json', '{"segment":true}', '42']) {
      expect(parseColumns(raw), `a preference of ${String(raw)} gives the default`).toEqual([...DEFAULT_COLUMNS]);
    }
  });

  it('makes one grid track for the name and one per shown column', () => {
    expect(gridTemplate([]).split(' minmax').length, 'the name alone').toBe(1);
    const all = COLUMNS.map((c) => c.key);
    const tracks = gridTemplate(all);
    for (const c of COLUMNS) expect(tracks, `${c.key} has its track`).toContain(c.width);
  });

  it('sorts by each score column the list can order by', () => {
    const sorts = Object.fromEntries(COLUMNS.map((c) => [c.key, c.sort]));
    expect(sorts.segment).toBe('segment');
    expect(sorts.churn).toBe('churn_risk');
    expect(sorts.value).toBe('expected_value');
  });
});
