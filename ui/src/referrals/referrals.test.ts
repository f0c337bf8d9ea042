import { describe, expect, it } from 'vitest';
import type { Reward } from '$lib/generated/Reward';
import { catalogueChoices, formToOffer, isGiftKind, nextKey, offerToForm, referenceOffer, refFromLookup } from './referrals';

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

describe('a catalogue reward in the offer', () => {
  it('reads back a gift as the catalogue reward it names, with its cost', () => {
    const o = referenceOffer('2026-03-01');
    o.friend_reward = { type: 'catalogue', reward_id: 4, label: 'Viennoiserie offerte', cost_cents: 150 };
    const back = formToOffer(offerToForm(o));
    expect(back.ok && back.value.friend_reward, 'a gift stays a gift (it used to turn into a voucher)').toEqual({
      type: 'catalogue',
      reward_id: 4,
      label: 'Viennoiserie offerte',
      cost_cents: 150,
    });
  });

  it('refuses a catalogue reward not chosen, and an unreadable cost, on its field', () => {
    const f = offerToForm(referenceOffer('2026-03-01'));
    f.referrer = { ...f.referrer, type: 'catalogue', rewardId: null, cost: '' };
    const none = formToOffer(f);
    expect(none.ok ? [] : none.problems, 'no reward chosen').toEqual([{ field: 'referrer_reward', key: 'field.referral_catalogue_reward' }]);
    f.referrer = { ...f.referrer, rewardId: 4, label: 'Nettoyage', cost: 'huit' };
    const bad = formToOffer(f);
    expect(bad.ok ? [] : bad.problems, 'cost unreadable').toEqual([{ field: 'referrer_reward', key: 'ui.money.invalid' }]);
    f.referrer = { ...f.referrer, cost: '' };
    const empty = formToOffer(f);
    expect(empty.ok && empty.value.referrer_reward, 'an empty cost is 0: the core refuses it for a gift').toMatchObject({ cost_cents: 0 });
  });

  it('offers the active rewards by name, and keeps the one chosen even when deactivated', () => {
    const r = (id: number, name: string, active: boolean) => ({ id, name, active, kind: 'free_product' }) as Reward;
    const all = [r(1, 'Nettoyage', true), r(2, 'Bouquet du mois', false), r(3, 'Atelier', true)];
    expect(catalogueChoices(all, null).map((x) => x.name)).toEqual(['Atelier', 'Nettoyage']);
    expect(catalogueChoices(all, 2).map((x) => x.name), 'the saved one stays named').toEqual(['Atelier', 'Bouquet du mois', 'Nettoyage']);
    expect(['free_product', 'experience', 'partner', 'voucher', 'fixed_discount', 'percent_discount'].map((k) => isGiftKind(k as never))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
