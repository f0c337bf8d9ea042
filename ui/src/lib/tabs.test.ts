// The keyboard rules of a tab list.
import { describe, expect, it } from 'vitest';
import { tabAfterKey } from './tabs';

describe('tab keys', () => {
  it('arrows move to the next or previous tab and wrap around', () => {
    expect(tabAfterKey('ArrowRight', 0, 4)).toBe(1);
    expect(tabAfterKey('ArrowRight', 3, 4), 'past the last: the first').toBe(0);
    expect(tabAfterKey('ArrowLeft', 0, 4), 'before the first: the last').toBe(3);
    expect(tabAfterKey('ArrowLeft', 2, 4)).toBe(1);
    expect(tabAfterKey('ArrowDown', 1, 4)).toBe(2);
    expect(tabAfterKey('ArrowUp', 1, 4)).toBe(0);
  });

  it('Home and End go to the ends; other keys do nothing', () => {
    expect(tabAfterKey('Home', 2, 4)).toBe(0);
    expect(tabAfterKey('End', 0, 4)).toBe(3);
    expect(tabAfterKey('Enter', 1, 4)).toBeNull();
    expect(tabAfterKey('a', 1, 4)).toBeNull();
    expect(tabAfterKey('ArrowRight', 0, 0), 'no tabs').toBeNull();
  });
});
