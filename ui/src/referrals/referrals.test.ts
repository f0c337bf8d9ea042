import { describe, expect, it } from 'vitest';
import { formToOffer, nextKey, offerToForm, referenceOffer, refFromLookup } from './referrals';

describe('the offer form', () => {
  it('reads back the reference offer exactly', () => {
    const o = referenceOffer('2026-03-01');
    const back = formToOffer(offerToForm(o));
    expect(back, 'what the editor shows is what it saves').toEqual({ ok: true, value: o });
    expect(o.ends_on, 'a year from the start').toBe('2027-02-28');
  });

  it('reads money the way people type it and refuses the rest on its field', () => {
    const f = offerToForm(referenceOffer('2026-03-01'));
    f.budget = '1 000,50 €';
    f.minPurchase = '25';
    const ok = formToOffer(f);
    expect(ok.ok && ok.value.budget_cents, 'thousands and decimals').toBe(100050);
    expect(ok.ok && ok.value.min_purchase_cents).toBe(2500);
    f.budget = 'beaucoup';
    const bad = formToOffer(f);
    expect(bad.ok ? [] : bad.problems.map((p) => p.field), 'an unreadable budget is refused next to it').toEqual(['budget_cents']);
    f.budget = '';
    const none = formToOffer(f);
    expect(none.ok && none.value.budget_cents, 'an empty budget means none').toBeNull();
  });

  it('gives a new milestone a key never used before', () => {
    expect(nextKey([{ key: 1 }, { key: 4 }]), 'keys stay stable across versions').toBe(5);
    expect(nextKey([{ key: 1 }, ...[{ key: 1 }, { key: 2 }]]), 'a milestone removed in the form still holds its key').toBe(3);
    expect(nextKey([])).toBe(1);
  });
});

describe('the referrer typed at the counter', () => {
  const found = { id: 7, display_name: 'Léa Martin' } as never;
  it('sends what the core recognised', () => {
    expect(refFromLookup(' k7p-x2m ', { found, via: 'code', problem: null, candidates: [] })).toEqual({ type: 'code', code: 'k7p-x2m' });
    expect(refFromLookup('2900 0000 0001 5', { found, via: 'card', problem: null, candidates: [] })).toEqual({
      type: 'card',
      number: '2900000000015',
    });
    expect(refFromLookup('Léa', { found: null, via: null, problem: null, candidates: [found] }), 'a name needs a pick').toBeNull();
  });
});
