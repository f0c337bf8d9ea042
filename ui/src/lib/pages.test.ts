import { describe, expect, it } from 'vitest';
import { appendPage } from './pages';

describe('appendPage', () => {
  it('adds a page after the rows shown, without a row already shown', () => {
    const shown = [{ id: 3 }, { id: 1 }];
    const next = appendPage(shown, [{ id: 1 }, { id: 7 }, { id: 2 }], (r) => r.id);
    expect(next.map((r) => r.id), 'customer 1 moved down between two pages: listed once').toEqual([3, 1, 7, 2]);
    expect(shown.length, 'the rows shown are not changed').toBe(2);
  });
});
