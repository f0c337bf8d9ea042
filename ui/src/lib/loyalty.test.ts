// Loyalty sentences (lib/loyalty.ts) in French and English.
import { beforeEach, describe, expect, it } from 'vitest';
import { earnLine, earnedSummary, factor, ledgerKind, tierReached, voucherLine, voucherWhat } from './loyalty';
import { prefs } from './prefs.svelte';

const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('loyalty sentences', () => {
  beforeEach(() => {
    prefs.lang = 'fr';
    prefs.locale = 'fr-FR';
    prefs.currency = 'EUR';
  });

  it('a sale says what it earned and what comes next', () => {
    const s = earnedSummary({ points: 12, stamps: 1, carry_after_cents: 50, lines: [] }, { unit: 'points', label: 'Café offert', missing: 38 });
    expect(plain(s), 'points, stamp, then the goal').toBe('+12 points, +1 tampon — encore 38 points pour « Café offert »');
  });

  it('nothing earned and no goal says nothing', () => {
    expect(earnedSummary({ points: 0, stamps: 0, carry_after_cents: 99, lines: [] }, null)).toBe('');
    expect(earnedSummary(null, null)).toBe('');
  });

  it('every line of an explanation is a sentence', () => {
    expect(plain(earnLine({ type: 'spend', spend_cents: 1250, points: 12, carry_cents: 50 }))).toContain('12,50 €');
    expect(plain(earnLine({ type: 'booster', name: 'Week-end', percent: 200 }))).toContain('×2');
    expect(factor(150), 'a multiplier reads as ×1,5 in French').toBe('×1,5');
  });

  it('ledger kinds are translated and unknown ones shown as they are', () => {
    expect(ledgerKind('expire')).not.toBe('expire');
    expect(ledgerKind('something_new')).toBe('something_new');
  });
});

describe('vouchers held', () => {
  beforeEach(() => {
    prefs.lang = 'fr';
    prefs.locale = 'fr-FR';
    prefs.currency = 'EUR';
  });
  const base = { code: 'K7P2-X9MQ', expires_at: '2026-12-31T12:00:00Z' };
  it('a gift reads as its name, never as its cost', () => {
    const gift = { ...base, kind: 'gift' as const, value: 150, label: 'Viennoiserie offerte' };
    expect(voucherWhat(gift)).toBe('Viennoiserie offerte');
    expect(plain(voucherLine(gift))).toBe("Cadeau : Viennoiserie offerte — code K7P2-X9MQ, valable jusqu'au 31 déc. 2026");
  });
  it('money off reads as its value', () => {
    expect(plain(voucherWhat({ kind: 'amount', value: 1000, label: null }))).toBe('10,00 €');
    expect(plain(voucherLine({ ...base, kind: 'amount', value: 1000, label: null }))).toContain('10,00 € — code K7P2-X9MQ');
  });
});

describe('tierReached', () => {
  it('names the tier a sale took the customer to, and says nothing otherwise', () => {
    expect(tierReached(null, { index: 0, name: 'Argent' }), 'a first tier is news').toBe('Nouveau palier : Argent');
    expect(tierReached({ index: 0 }, { index: 1, name: 'Or' }), 'a higher tier is news').toBe('Nouveau palier : Or');
    expect(tierReached({ index: 1 }, { index: 1, name: 'Or' }), 'the same tier is not').toBe('');
    expect(tierReached({ index: 1 }, { index: 0, name: 'Argent' }), 'a lower tier (kept one ended) is not announced as new').toBe('');
    expect(tierReached({ index: 1 }, null), 'no tier after is not').toBe('');
  });
});
