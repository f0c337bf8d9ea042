// The programme and reward forms ↔ what the core stores, and the printable rules.
import { describe, expect, it } from 'vitest';
import type { Programme } from '$lib/generated/Programme';
import type { Reward } from '$lib/generated/Reward';
import { centsToInput } from '$lib/forms';
import {
  formToProgramme,
  formToReward,
  localDay,
  periodEnd,
  periodStart,
  minutesToTime,
  newBooster,
  newRewardForm,
  programmeToForm,
  rewardToForm,
  rulesText,
  sectionMessages,
  timeToMinutes,
  weekdaysToNumbers,
  type ProgrammeForm,
} from './programme';

const empty: Programme = {
  points: null,
  stamps: null,
  category_multipliers: [],
  boosters: [],
  actions: [],
  tiers: null,
  expiry: { mode: 'never' },
  earn_before_discount: false,
  value_of_100_points_cents: 100,
  suspicious_operations_per_day: 5,
};

const full: Programme = {
  points: { points_per_unit: 1, unit_cents: 100, points_per_visit: 5 },
  stamps: { per_visit: 1, milestones: [{ stamps: 5, label: 'un croissant' }, { stamps: 10, label: 'un café offert' }] },
  category_multipliers: [{ category: 'Thé', percent: 200 }],
  boosters: [
    {
      name: 'Happy hour',
      percent: 150,
      starts_on: '2026-12-01',
      ends_on: '2026-12-24',
      weekdays: [6, 7],
      from_minute: 1050,
      to_minute: 1140,
    },
  ],
  actions: [
    { action: 'review', points: 20, max_per_year: 1 },
    { action: 'referral', points: 50, max_per_year: null },
  ],
  tiers: {
    basis: 'spend',
    period: 'rolling12_months',
    tiers: [{ name: 'Or', threshold: 50000, percent: 150, advantages: 'Café offert', entry_points: 100 }],
  },
  expiry: { mode: 'after_months', months: 24 },
  earn_before_discount: true,
  value_of_100_points_cents: 500,
  suspicious_operations_per_day: 5,
};

const reward: Reward = {
  id: 3,
  name: 'Bon de 5 €',
  kind: 'voucher',
  points_cost: 100,
  value: 500,
  stock: null,
  per_customer_limit: null,
  valid_from: null,
  valid_to: null,
  voucher_days: 90,
  active: true,
  redeemed: 2,
};

function read(f: ProgrammeForm): Programme {
  const r = formToProgramme(f);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

/** Intl writes no-break spaces; compare with plain ones. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('programme form', () => {
  it('1,00 € per point becomes unit_cents 100', () => {
    const f = programmeToForm(empty);
    f.points_enabled = true;
    f.points_per_unit = '1';
    f.unit_amount = '1,00';
    expect(read(f).points).toEqual({ points_per_unit: 1, unit_cents: 100, points_per_visit: 0 });
    f.unit_amount = '2.50';
    expect(read(f).points?.unit_cents).toBe(250);
  });

  it('a disabled part is null and its inputs are not read', () => {
    const f = programmeToForm(full);
    f.points_enabled = false;
    f.points_per_unit = 'abc';
    f.stamps_enabled = false;
    f.tiers_enabled = false;
    const p = read(f);
    expect(p.points).toBeNull();
    expect(p.stamps).toBeNull();
    expect(p.tiers).toBeNull();
  });

  it('a programme survives the round trip through the form', () => {
    expect(read(programmeToForm(full))).toEqual(full);
    expect(read(programmeToForm(full, '.'))).toEqual(full);
    expect(read(programmeToForm(empty))).toEqual(empty);
  });

  it('an empty max per year means no limit', () => {
    const f = programmeToForm(full);
    f.actions[0].max_per_year = '';
    expect(read(f).actions[0].max_per_year).toBeNull();
    f.actions[0].max_per_year = '3';
    expect(read(f).actions[0].max_per_year).toBe(3);
  });

  it('weekdays map Monday=1 … Sunday=7', () => {
    expect(weekdaysToNumbers([true, false, false, false, false, false, true])).toEqual([1, 7]);
    const f = programmeToForm(full);
    expect(f.boosters[0].weekdays).toEqual([false, false, false, false, false, true, true]);
  });

  it('17:30 is 1050 minutes, and an empty time means no limit', () => {
    expect(timeToMinutes('17:30')).toBe(1050);
    expect(timeToMinutes('00:00')).toBe(0);
    expect(timeToMinutes('')).toBeNull();
    expect(timeToMinutes('25:00')).toBe('invalid');
    expect(minutesToTime(1050)).toBe('17:30');
    expect(minutesToTime(null)).toBe('');
  });

  it('a tier threshold is money when tiers go by spend, points otherwise', () => {
    const f = programmeToForm(full);
    expect(f.tiers[0].threshold).toBe('500,00');
    f.tier_basis = 'points';
    f.tiers[0].threshold = '1000';
    expect(read(f).tiers?.tiers[0].threshold).toBe(1000);
  });

  it('expiry keeps its months only when points expire', () => {
    const f = programmeToForm(full);
    f.expiry_mode = 'after_inactivity_months';
    f.expiry_months = '6';
    expect(read(f).expiry).toEqual({ mode: 'after_inactivity_months', months: 6 });
    f.expiry_mode = 'never';
    f.expiry_months = '';
    expect(read(f).expiry).toEqual({ mode: 'never' });
  });

  it('rows left entirely empty are ignored', () => {
    const f = programmeToForm(full);
    f.milestones.push({ stamps: '', label: '' });
    f.boosters.push(newBooster());
    f.category_multipliers.push({ category: '', percent: '200' });
    expect(read(f)).toEqual(full);
  });

  it('text that is not a number is reported on the field the core uses', () => {
    const f = programmeToForm(full);
    f.unit_amount = 'un euro';
    f.milestones[0].stamps = 'cinq';
    f.boosters[0].from = '99:99';
    const r = formToProgramme(f);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toEqual([
        { field: 'points.unit_cents', key: 'ui.programme.error.money' },
        { field: 'stamps.milestones', key: 'ui.programme.error.integer' },
        { field: 'boosters', key: 'ui.programme.error.time' },
      ]);
    }
  });

  it('a section shows the messages about itself and its rows, not those shown next to an input', () => {
    const error = {
      code: 'validation',
      message: 'x',
      fields: [
        { field: 'boosters', message: 'A' },
        { field: 'boosters[1].percent', message: 'B' },
        { field: 'boosters_extra', message: 'C' },
        { field: 'points.unit_cents', message: 'D' },
      ],
    };
    expect(sectionMessages(error, 'boosters')).toEqual(['A', 'B']);
    expect(sectionMessages(error, 'points', ['points.unit_cents'])).toEqual([]);
    expect(sectionMessages(null, 'points')).toEqual([]);
  });

  it('money inputs show cents with two decimals', () => {
    expect(centsToInput(100)).toBe('1,00');
    expect(centsToInput(1250, '.')).toBe('12.50');
    expect(centsToInput(5)).toBe('0,05');
  });

  it('the day sent for the suspicious list is the local date', () => {
    expect(localDay(new Date(2026, 10, 23, 23, 59))).toBe('2026-11-23');
    expect(localDay(new Date(2026, 0, 5, 0, 0))).toBe('2026-01-05');
  });

  it('a week of the suspicious list runs from Monday to Sunday', () => {
    expect(periodStart('2026-11-25', 'week')).toBe('2026-11-23'); // a Wednesday → its Monday
    expect(periodStart('2026-11-23', 'week')).toBe('2026-11-23'); // a Monday stays
    expect(periodStart('2026-11-29', 'week')).toBe('2026-11-23'); // a Sunday belongs to the week before
    expect(periodStart('2027-01-01', 'week')).toBe('2026-12-28'); // across a new year
    expect(periodStart('2026-03-29', 'week')).toBe('2026-03-23'); // the day of a change of time
    expect(periodStart('2026-11-25', 'day')).toBe('2026-11-25');
    expect(periodEnd('2026-12-28', 'week')).toBe('2027-01-03');
    expect(periodEnd('2026-12-28', 'day')).toBe('2026-12-28');
  });

  it('a day that is not a date gives no period', () => {
    for (const bad of ['', '2026-02-30', '25/11/2026', '2026-13-01', '<script>']) {
      expect(periodStart(bad, 'day'), bad).toBeNull();
    }
  });
});

describe('reward form', () => {
  it('a voucher value is money, a percentage discount a whole percent, a gift an optional price', () => {
    const f = newRewardForm();
    f.name = 'Bon';
    f.points_cost = '100';
    f.kind = 'voucher';
    f.value = '5,00';
    let r = formToReward(f);
    expect(r.ok && r.value.value).toBe(500);
    f.kind = 'percent_discount';
    f.value = '10';
    r = formToReward(f);
    expect(r.ok && r.value.value).toBe(10);
    f.kind = 'free_product';
    f.value = '';
    r = formToReward(f);
    expect(r.ok && r.value.value, 'a gift without a price is worth 0: not given').toBe(0);
    f.value = '2,50';
    r = formToReward(f);
    expect(r.ok && r.value.value, "a gift's selling price, in cents").toBe(250);
    f.value = 'peu importe';
    r = formToReward(f);
    expect(r.ok ? [] : r.problems.map((p) => p.field), 'a price that is not one is refused').toEqual(['value']);
    expect(rewardToForm({ ...reward, kind: 'experience', value: 0 }).value, 'no price shows an empty field, not 0').toBe('');
  });

  it('empty stock, limit and dates mean none; voucher validity defaults to 90 days', () => {
    const f = newRewardForm();
    f.points_cost = '50';
    f.value = '2';
    f.voucher_days = '';
    const r = formToReward(f);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.stock).toBeNull();
      expect(r.value.per_customer_limit).toBeNull();
      expect(r.value.valid_from).toBeNull();
      expect(r.value.valid_to).toBeNull();
      expect(r.value.voucher_days).toBe(90);
    }
  });

  it('a reward survives the round trip through the form', () => {
    const r = formToReward(rewardToForm(reward));
    const { id: _id, redeemed: _redeemed, ...input } = reward;
    expect(r).toEqual({ ok: true, value: input });
  });

  it('a cost that is not a number is reported on points_cost', () => {
    const f = newRewardForm();
    f.points_cost = 'cent';
    f.value = '1';
    const r = formToReward(f);
    expect(r.ok ? [] : r.problems.map((p) => p.field)).toEqual(['points_cost']);
  });
});

describe('rules for customers', () => {
  const ctx = { locale: 'fr-FR' as const, currency: 'EUR' as const };

  it('say in French how points are earned, without minimum and with the remainder carried over', () => {
    const text = rulesText(full, [reward], { ...ctx, lang: 'fr' }).flatMap((s) => s.lines.map((l) => plain(l.text)));
    expect(text).toContain(
      "1 point pour chaque tranche de 1,00 € d'achat — sans minimum d'achat ; le reste est reporté sur l'achat suivant.",
    );
    expect(text).toContain('5 points offerts à chaque visite.');
    expect(text).toContain('10 tampons : un café offert');
    expect(text).toContain('Bon de 5 € : 100 points');
  });

  it('are written in the chosen language, whatever the interface language', () => {
    const sections = rulesText(full, [reward], { ...ctx, lang: 'en' });
    const text = sections.flatMap((s) => s.lines.map((l) => plain(l.text)));
    expect(sections[0].title).toBe('Earning points');
    expect(text[0]).toBe('1 point for every €1.00 spent — no minimum purchase; the remainder carries over to your next purchase.');
  });

  it('describe a booster by its dates, days and hours', () => {
    const boosters = rulesText(full, [], { ...ctx, lang: 'fr' }).find((s) => s.id === 'multipliers');
    const line = boosters?.lines.find((l) => l.text.startsWith('Happy hour'));
    expect(line?.text).toBe('Happy hour : points ×1,5');
    expect(plain(line?.detail ?? '')).toBe('du 1 déc. 2026 au 24 déc. 2026, chaque samedi et dimanche, de 17:30 à 19:00');
  });

  it('leave out what the programme does not use', () => {
    expect(rulesText(empty, [], { ...ctx, lang: 'fr' })).toEqual([]);
    const inactive = { ...reward, active: false };
    expect(rulesText(empty, [inactive], { ...ctx, lang: 'fr' })).toEqual([]);
  });

  it('give a tier its threshold, multiplier, welcome points and advantages', () => {
    const tiers = rulesText(full, [], { ...ctx, lang: 'fr' }).find((s) => s.id === 'tiers');
    expect(plain(tiers?.lines[1].text ?? '')).toBe("Or : dès 500,00 € d'achats — points ×1,5 — 100 points de bienvenue");
    expect(tiers?.lines[1].detail).toBe('Café offert');
  });
});
