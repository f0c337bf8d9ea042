// parseMoney: what a person may type as an amount, and what is refused.
import { describe, expect, it } from 'vitest';
import { parseMoney } from './money';

describe('parseMoney', () => {
  const ok: [string, number, string][] = [
    ['12,50', 1250, 'a comma is the decimal separator'],
    ['12.50', 1250, 'a dot is the decimal separator'],
    ['12', 1200, 'a whole number is whole euros/dollars'],
    ['1 234,50', 123450, 'spaces group thousands'],
    ['1\u202f234,50', 123450, 'narrow no-break spaces group thousands'],
    ['1234.5', 123450, 'one decimal means tens of cents'],
    ['12,5 €', 1250, 'a trailing euro sign is ignored'],
    ['€12.50', 1250, 'a leading euro sign is ignored'],
    ['12,50 $', 1250, 'a trailing dollar sign is ignored'],
    ['$1,234.50', 123450, 'English grouping with a comma and a dot decimal'],
    ['1.234,50', 123450, 'continental grouping with a dot and a comma decimal'],
    ['0,01', 1, 'one cent'],
    ['0', 0, 'zero parses (the till refuses it separately)'],
    ['  7  ', 700, 'surrounding spaces are ignored'],
    ['0.1', 10, 'arithmetic is exact: 0.1 is ten cents'],
    ['19.99', 1999, 'arithmetic is exact: no float rounding'],
  ];
  for (const [text, cents, rule] of ok) {
    it(`${JSON.stringify(text)} → ${cents}`, () => expect(parseMoney(text), rule).toBe(cents));
  }

  const bad: [string, string][] = [
    ['', 'empty text is not an amount'],
    ['abc', 'letters are not an amount'],
    ['12a', 'trailing garbage is refused'],
    ['-5', 'negative amounts are refused'],
    ['-5,00 €', 'negative amounts are refused even with a currency'],
    ['12,345', 'more than two decimals are refused'],
    ['1.2.3', 'several dots are refused'],
    ['12,', 'a separator must be followed by decimals'],
    ['1 23,00', 'thousands groups must have three digits'],
    ['1,23.4,5', 'mixed separators in the wrong order are refused'],
    ['€', 'a currency sign alone is not an amount'],
    ['99999999999999999', 'amounts beyond exact integer range are refused'],
  ];
  for (const [text, rule] of bad) {
    it(`${JSON.stringify(text)} → null`, () => expect(parseMoney(text), rule).toBeNull());
  }
});
