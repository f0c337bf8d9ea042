import { describe, expect, it } from 'vitest';
import { translate } from '$lib/i18n';
import {
  GRID,
  SEGMENTS,
  bucketLabel,
  dayBefore,
  lastDayOf,
  describeChart,
  changeLine,
  editableThresholds,
  filters,
  formatChange,
  formatDays,
  formatEvery,
  monthName,
  listHref,
  monthLabel,
  npsListed,
  npsTrendSentence,
  npsUnlisted,
  readListQuery,
  rhythmSentence,
  tone,
  trendSentence,
} from './numbers';

const fr = (key: string, params?: Record<string, string | number>) => translate('fr', key, params);
const en = (key: string, params?: Record<string, string | number>) => translate('en', key, params);

describe('changes and durations', () => {
  it('a change reads with its sign, a minus sign for a fall, nothing without a comparison', () => {
    expect(formatChange(60, 'fr-FR')?.replace(/\s/g, ' ')).toBe('+6 %');
    expect(formatChange(-32, 'en-GB')).toBe('−3.2%');
    expect(formatChange(null, 'fr-FR')).toBeNull();
    expect([tone(60), tone(-60), tone(2), tone(null)]).toEqual(['up', 'down', 'flat', 'flat']);
  });
  it('durations use the unit a person would say', () => {
    expect(formatDays(1, fr)).toBe('1 jour');
    expect(formatDays(5, fr)).toBe('5 jours');
    expect(formatDays(14, fr)).toBe('2 semaines');
    expect(formatDays(63, fr)).toBe('9 semaines');
    expect(formatDays(91, fr)).toBe('3 mois');
    expect(formatDays(800, en)).toBe('2 years');
  });
  it('the rhythm sentence says the usual gap and the absence', () => {
    expect(rhythmSentence({ usual_gap_days: 14, own: true, days_since_last: 63 }, fr)).toBe(
      'vient toutes les 2 semaines, absent(e) depuis 9 semaines',
    );
    expect(rhythmSentence({ usual_gap_days: 30, own: false, days_since_last: 10 }, en)).toContain('shop');
  });
  it('how often is said with the article each unit takes, in both languages', () => {
    expect(formatEvery(5, fr), '"jour" is masculine: tous les').toBe('tous les 5 jours');
    expect(formatEvery(1, fr), 'one day: tous les jours, not "tous les 1 jours"').toBe('tous les jours');
    expect(formatEvery(21, fr), '"semaine" is feminine: toutes les').toBe('toutes les 3 semaines');
    expect(formatEvery(30, fr), 'a month is said in weeks below 10 of them').toBe('toutes les 4 semaines');
    expect(formatEvery(91, fr)).toBe('tous les 3 mois');
    expect(formatEvery(800, fr)).toBe('tous les 2 ans');
    expect(formatEvery(1, en), 'never "every 1 day"').toBe('every day');
    expect(formatEvery(91, en)).toBe('every 3 months');
    expect(rhythmSentence({ usual_gap_days: 5, own: true, days_since_last: 40 }, fr)).toBe('vient tous les 5 jours, absent(e) depuis 6 semaines');
    expect(rhythmSentence({ usual_gap_days: 1, own: true, days_since_last: 0 }, en)).toBe('comes every day, came today');
  });
});

describe('summaries and descriptions', () => {
  it('one sentence per chart compares with last year', () => {
    expect(trendSentence('Le panier moyen', 106, 100, fr, 'fr-FR', 'previous').replace(/\s/g, ' ')).toBe(
      'Le panier moyen a progressé de 6 % par rapport à la période précédente.',
    );
    expect(trendSentence('Revenue', 90, 100, en, 'en-GB', 'last_year')).toBe('Revenue fell by 10% compared with last year.');
    expect(trendSentence('Revenue', 100, 0, en, 'en-GB', 'last_year')).toContain('nothing to compare');
  });
  it('a chart is described with its highest and lowest values', () => {
    const d = describeChart('Ventes', 'bar', ['janv.', 'févr.', 'mars'], [{ name: 'Cette année', values: [3, 9, 1] }], String, fr);
    expect(d).toContain('févr.');
    expect(d).toContain('9');
    expect(d).toContain('mars');
  });
  it('a month with nothing to show is a gap, never the lowest value', () => {
    const d = describeChart('Score', 'line', ['oct.', 'nov.', 'déc.'], [{ name: 'NPS', values: [40, null, -10] }], String, fr);
    expect(d).toContain('-10');
    expect(d).not.toContain('null');
    const none = describeChart('Score', 'line', ['oct.'], [{ name: 'NPS', values: [null] }], String, fr);
    expect(none).not.toContain('NPS');
  });
  it('a month key reads as a month, not as 2025-12', () => {
    expect(monthLabel('2025-12', 'fr-FR')).toBe('déc. 2025');
    expect(monthLabel('2025-12', 'en-GB')).toBe('Dec 2025');
  });
  it('buckets are labelled by day, week or month', () => {
    const p = { from: '2026-11-16', to: '2026-11-22' };
    expect(bucketLabel(p, 'week', 'fr-FR', fr)).toBe('sem. du 16 nov.');
    expect(bucketLabel({ from: '2026-11-01', to: '2026-11-30' }, 'month', 'en-GB', en)).toBe('Nov 2026');
    expect(dayBefore('2026-03-01')).toBe('2026-02-28');
    expect(lastDayOf('2028-02'), 'a leap February').toBe('2028-02-29');
    expect(lastDayOf('2026-12'), 'December ends the year').toBe('2026-12-31');
  });
  it("a month of the satisfaction trend opens that month's answers", () => {
    expect(filters.npsAnsweredIn('2026-11').conditions).toEqual([{ field: 'nps_answered_between', from: '2026-11-01', to: '2026-11-30' }]);
  });
});

describe('every number opens its customers', () => {
  it('the address carries the filter and the title, and nothing else is accepted', () => {
    const f = filters.returningIn({ from: '2026-11-01', to: '2026-11-30' });
    expect(f.conditions).toEqual([
      { field: 'bought_between', from: '2026-11-01', to: '2026-11-30' },
      { field: 'first_purchase_between', from: '2000-01-01', to: '2026-10-31' },
    ]);
    const href = listHref(f, { key: 'ui.numbers.list.returning', params: { period: 'nov. 2026 <b>' } });
    const q = Object.fromEntries(new URLSearchParams(href.split('?')[1]));
    const back = readListQuery(q);
    expect(back?.filter).toEqual(f);
    expect(back?.title.params?.period).toBe('nov. 2026 <b>');
    expect(readListQuery({ f: 'not json' })).toBeNull();
    const foreign = listHref(f, { key: 'ui.app.not_found' });
    const q2 = Object.fromEntries(new URLSearchParams(foreign.split('?')[1]));
    expect(readListQuery(q2)?.title.key, 'only our own titles').toBe('ui.numbers.list.title');
  });
  it('every segment has a place in the grid', () => {
    expect(new Set(GRID.flat()).size).toBe(SEGMENTS.length);
  });
});

describe('monthName', () => {
  it('names a month from its YYYY-MM or one of its days, in the shop’s language', () => {
    expect(monthName('2026-11', 'fr-FR')).toBe('novembre 2026');
    expect(monthName('2026-04-01', 'en-GB'), 'a day names its month').toBe('April 2026');
  });
});

describe('satisfaction trend', () => {
  const m = (month: string, score: number | null, answers = 10) => ({ month, answers: score === null ? 0 : answers, score });
  const today = new Date(2026, 11, 5);
  it('says the last 3 months against the 3 before, each month weighing its answers', () => {
    // June is 6 months back: not in the 3 before (July to September).
    const trend = [m('2026-06', 90), m('2026-07', 30, 30), m('2026-10', 40, 10), m('2026-12', 20, 30)];
    expect(npsTrendSentence(trend, 'fr-FR', fr, today)).toMatch(/^Sur les 3 derniers mois, le score est de 25 \(40 réponses\), en baisse par rapport aux 3 mois d'avant \(30\)\./);
    expect(npsTrendSentence([m('2026-08', 50), m('2026-11', -5, 1)], 'en-GB', en, today)).toMatch(/^Over the last 3 months the score is -5 \(1 answer\), down on the 3 months before \(50\)\./);
    expect(npsTrendSentence([m('2026-11', 20)], 'fr-FR', fr, today)).toMatch(/aucune réponse les 3 mois d'avant/);
  });
  it('without answers lately, says what the scale means', () => {
    expect(npsTrendSentence([m('2026-01', 31)], 'fr-FR', fr, today)).toBe(fr('ui.nps.trend_summary'));
  });
});

describe('thresholds to edit', () => {
  it('computed ones become a valid starting point: from their minimum, each above the one before', () => {
    const th = { recency_days: [0, 0, 14, 14] as [number, number, number, number], frequency: [2, 3, 5, 10] as [number, number, number, number], monetary_cents: [2000, 2000, 2000, 9000] as [number, number, number, number] };
    const e = editableThresholds(th);
    expect(e.recency_days).toEqual([1, 2, 14, 15]);
    expect(e.monetary_cents).toEqual([2000, 2001, 2002, 9000]);
    expect(e.frequency).toEqual([2, 3, 5, 10]);
  });
});

describe('small figures', () => {
  it('a comparison line says its change and takes its colour', () => {
    expect(changeLine('ui.numbers.vs_last_year', -60, 'en-GB', en)).toEqual({ text: '−6% on last year', tone: 'down' });
  });
  it('the answers no list holds are the rest of the answers', () => {
    const s = { answers: 12, listed_promoters: 6, listed_passives: 2, listed_detractors: 1 } as Parameters<typeof npsUnlisted>[0];
    expect([npsListed(s, 'promoter'), npsListed(s, 'detractor'), npsUnlisted(s)]).toEqual([6, 1, 3]);
  });
});
