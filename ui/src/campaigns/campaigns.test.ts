// The pure rules of the campaign screens (campaigns.ts): forms ↔ stored values, segments,
// scheduling, estimates and pauses in words.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CONDITION_FIELDS,
  PERSONAL_FIELDS,
  abDecisionAt,
  abSplit,
  copyMessage,
  describePause,
  emptyCondition,
  fieldTag,
  filterToForm,
  formToFilter,
  formToMessage,
  insertAtCursor,
  isEditable,
  messageToForm,
  moveItem,
  newBlock,
  recipientsEstimate,
  scheduleAt,
  testOutcomeKind,
  toLocalInput,
  type ConditionForm,
} from './campaigns';
import type { Condition } from '$lib/generated/Condition';
import { prefs } from '$lib/prefs.svelte';

const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

beforeEach(() => {
  prefs.lang = 'fr';
  prefs.locale = 'fr-FR';
  prefs.currency = 'EUR';
});

describe('personal-field chips', () => {
  it('a field is written the way the core reads it', () => {
    expect(fieldTag('first_name'), 'a chip inserts {{ name }} with spaces').toBe('{{ first_name }}');
    expect(PERSONAL_FIELDS, 'the chips are the core’s twelve personal fields (four for referrals)').toHaveLength(12);
  });

  it('inserts at the caret and puts the caret after the field', () => {
    const r = insertAtCursor('Bonjour !', 8, 8, '{{ first_name }}');
    expect(r.text, 'the field goes where the caret is').toBe('Bonjour {{ first_name }}!');
    expect(r.caret, 'the caret ends right after the inserted field').toBe(8 + '{{ first_name }}'.length);
  });

  it('replaces a selection', () => {
    expect(insertAtCursor('Bonjour Marie', 8, 13, '{{ first_name }}').text, 'selected text is replaced by the field').toBe(
      'Bonjour {{ first_name }}',
    );
    expect(insertAtCursor('abc', 3, 1, 'X').text, 'a backwards selection is the same selection').toBe('aX');
  });

  it('without a caret, appends after a space', () => {
    expect(insertAtCursor('Bonjour', null, null, '{{ first_name }}').text, 'a space separates it from the text').toBe(
      'Bonjour {{ first_name }}',
    );
    expect(insertAtCursor('', null, null, '{{ points }}').text, 'an empty field gets the tag alone').toBe('{{ points }}');
    expect(insertAtCursor('Salut ', null, null, 'X').text, 'no double space').toBe('Salut X');
  });

  it('a caret past the end is clamped to the end', () => {
    expect(insertAtCursor('ab', 10, 12, 'X'), 'positions beyond the text mean the end').toEqual({ text: 'abX', caret: 3 });
  });
});

describe('message form', () => {
  it('a product price is typed money, kept as integer cents', () => {
    const f = messageToForm({ subject: 'S', preheader: '', blocks: [newBlock('product')] });
    f.blocks[0].price = '12,50';
    const p = formToMessage(f);
    expect(p.ok && p.value.blocks[0], 'a price typed "12,50" is saved as 1250 cents').toMatchObject({ price_cents: 1250 });
    f.blocks[0].price = '';
    const q = formToMessage(f);
    expect(q.ok && q.value.blocks[0], 'an empty price means no price').toMatchObject({ price_cents: null });
  });

  it('a price that is not money is a problem on that block, left out of the preview', () => {
    const f = messageToForm({ subject: 'S', preheader: '', blocks: [newBlock('text'), newBlock('product')] });
    f.blocks[1].price = 'douze';
    const p = formToMessage(f);
    expect(p.ok, 'an unreadable price stops the save').toBe(false);
    expect(!p.ok && p.problems[0].field, 'the problem names the block').toBe('blocks.1.price');
    const lenient = formToMessage(f, true);
    expect(lenient.ok && lenient.value.blocks[1], 'the preview shows the product without a price').toMatchObject({
      price_cents: null,
    });
  });

  it('a stored price comes back as the merchant would type it', () => {
    const f = messageToForm({
      subject: '',
      preheader: '',
      blocks: [{ type: 'product', name: 'Thé', description: '', price_cents: 990, media_id: null, url: '' }],
    });
    expect(f.blocks[0].price, '990 cents read "9,90" in French').toBe('9,90');
  });

  it('version B starts as an independent copy of A', () => {
    const a = messageToForm({ subject: 'Objet', preheader: 'p', blocks: [{ type: 'heading', text: 'Titre' }] });
    const b = copyMessage(a);
    if (b.blocks[0].block.type === 'heading') b.blocks[0].block.text = 'Autre';
    expect(a.blocks[0].block, 'editing B leaves A alone').toEqual({ type: 'heading', text: 'Titre' });
    expect(b.blocks[0].uid, 'the copy has its own keys').not.toBe(a.blocks[0].uid);
  });

  it('blocks move up and down, not past either end', () => {
    expect(moveItem(['a', 'b', 'c'], 2, -1), 'moving up swaps with the one above').toEqual(['a', 'c', 'b']);
    expect(moveItem(['a', 'b', 'c'], 0, -1), 'the first cannot go higher').toEqual(['a', 'b', 'c']);
    expect(moveItem(['a', 'b', 'c'], 2, 1), 'the last cannot go lower').toEqual(['a', 'b', 'c']);
  });
});

describe('segment conditions', () => {
  const d = { lang: 'fr' as const, country: 'CA' as const, now: new Date(2026, 10, 23) };

  it('every condition kind has a starting value the core accepts, or a blank to fill', () => {
    for (const field of CONDITION_FIELDS) {
      const c = emptyCondition(field, d);
      expect(c.field, `${field} keeps its kind`).toBe(field);
    }
    expect(emptyCondition('birthday_month', d), 'the birthday month starts at the current month').toEqual({
      field: 'birthday_month',
      month: 11,
    });
    expect(emptyCondition('country', d), 'the country starts at the shop’s').toEqual({ field: 'country', country: 'CA' });
    expect(emptyCondition('language', d), 'the language starts at the interface’s').toEqual({ field: 'language', lang: 'fr' });
    expect(emptyCondition('never_bought', d), 'a condition without value has none').toEqual({ field: 'never_bought' });
    expect(emptyCondition('has_tag', d), 'a tag starts blank for the merchant to type').toEqual({ field: 'has_tag', tag: '' });
  });

  it('a money condition is typed money, sent as cents', () => {
    const f = filterToForm({ combine: 'all', conditions: [{ field: 'spent_at_least', cents: 10_000 }] });
    expect(f.conditions[0].money, '10 000 cents show as "100,00"').toBe('100,00');
    f.conditions[0].money = '49,90';
    const p = formToFilter(f);
    expect(p.ok && p.value.conditions[0], '"49,90" is 4990 cents').toEqual({ field: 'spent_at_least', cents: 4990 });
  });

  it('an incomplete condition is reported and not counted', () => {
    const form = (c: Condition, money = ''): ConditionForm => ({ uid: 1, condition: c, money });
    const bad: [Condition, string][] = [
      [{ field: 'has_tag', tag: '  ' }, 'a tag cannot be blank'],
      [{ field: 'birthday_month', month: 13 }, 'a month is 1 to 12'],
      [{ field: 'last_purchase_within', days: 2.5 }, 'days are whole'],
      [{ field: 'purchases_at_least', count: null as unknown as number }, 'an emptied number is incomplete'],
    ];
    for (const [c, rule] of bad) {
      const p = formToFilter({ combine: 'any', conditions: [form(c)] });
      expect(p.ok, rule).toBe(false);
      expect(!p.ok && p.problems[0].field, `${rule}: the problem names the condition`).toBe('conditions.0');
    }
    const money = formToFilter({ combine: 'all', conditions: [form({ field: 'spent_at_most', cents: 0 }, 'beaucoup')] });
    expect(money.ok, 'an amount that is not money is refused').toBe(false);
  });

  it('tags are trimmed and the combination is kept', () => {
    const p = formToFilter({ combine: 'any', conditions: [{ uid: 1, condition: { field: 'not_tag', tag: ' vip ' }, money: '' }] });
    expect(p.ok && p.value, 'what is counted is what the merchant meant').toEqual({
      combine: 'any',
      conditions: [{ field: 'not_tag', tag: 'vip' }],
    });
  });
});

describe('audience figures', () => {
  it('recipients are the eligible customers less the control group, rounded down like the core', () => {
    expect(recipientsEstimate(248, 10), '248 eligible, 10 % held out: 24 in control, 224 receive').toBe(224);
    expect(recipientsEstimate(9, 10), 'under ten people, 10 % holds nobody out').toBe(9);
    expect(recipientsEstimate(100, 0), 'no control group: everyone receives').toBe(100);
    expect(recipientsEstimate(0, 10), 'nobody eligible: nobody receives').toBe(0);
  });

  it('an A/B sample is shared half and half, the rest waits for the winner', () => {
    expect(abSplit(200, 20), '20 % of 200 is 40: 20 get A, 20 get B, 160 wait').toEqual({ a: 20, b: 20, rest: 160 });
    expect(abSplit(11, 10), 'the sample is at least 2 people, one each').toEqual({ a: 1, b: 1, rest: 9 });
    expect(abSplit(5, 50), 'an odd sample gives B the extra person').toEqual({ a: 1, b: 1, rest: 3 });
    expect(abSplit(1, 50), 'never more than everyone').toEqual({ a: 0, b: 1, rest: 0 });
  });

  it('only drafts and scheduled campaigns can be edited', () => {
    expect(isEditable('draft') && isEditable('scheduled'), 'draft and scheduled open the editor').toBe(true);
    expect(isEditable('running') || isEditable('finished'), 'started campaigns open the follow-up').toBe(false);
  });
});

describe('scheduling', () => {
  it('a datetime-local value is read as local time and sent in UTC', () => {
    const now = new Date(2026, 0, 1, 12, 0);
    const iso = scheduleAt('2026-03-10T09:30', now);
    expect(iso, 'the same instant as 09:30 on this computer').toBe(new Date(2026, 2, 10, 9, 30).toISOString());
    expect(String(iso).endsWith('Z'), 'UTC ISO, as the core expects').toBe(true);
  });

  it('a time that is not in the future, or not a time, is refused', () => {
    const now = new Date(2026, 0, 1, 12, 0);
    expect(scheduleAt('2026-01-01T12:00', now), 'now is not the future').toBe('past');
    expect(scheduleAt('2025-12-31T23:59', now), 'the past is refused').toBe('past');
    expect(scheduleAt('', now), 'empty is not a time').toBe('invalid');
    expect(scheduleAt('demain', now), 'words are not a time').toBe('invalid');
  });

  it('a stored time goes back into the input in local time', () => {
    const local = new Date(2026, 4, 2, 8, 5);
    expect(toLocalInput(local.toISOString()), 'round trip through UTC').toBe('2026-05-02T08:05');
    expect(toLocalInput(null), 'no time, empty input').toBe('');
  });

  it('an A/B test decides by itself after the wait', () => {
    expect(abDecisionAt('2026-05-02T08:00:00Z', 3), 'three days after the samples').toBe('2026-05-05T08:00:00.000Z');
    expect(abDecisionAt(null, 3), 'samples not done: no date').toBeNull();
  });
});

describe('pauses in words', () => {
  it('a quota pause says when sending resumes', () => {
    const now = new Date(2026, 4, 2, 10, 0);
    const at = new Date(2026, 4, 2, 14, 30).toISOString();
    const s = plain(describePause({ pause_reason: 'quota', pause_detail: null, resume_at: at }, now));
    expect(s, 'the same day, the time alone').toContain('14:30');
    expect(s.toLowerCase(), 'it says the provider’s quota').toContain('quota du fournisseur');
  });

  it('an errors pause gives the server’s last words', () => {
    const s = describePause({ pause_reason: 'errors', pause_detail: '535 bad credentials', resume_at: null });
    expect(s, 'too many errors in a row, with the detail').toMatch(/erreurs d'affilée.*535 bad credentials/);
  });
  it('a refusal by the provider says nobody was failed and quotes the provider', () => {
    const s = describePause({ pause_reason: 'rejected', pause_detail: '553 5.7.1 Sender address rejected', resume_at: null });
    expect(s).toContain('aucun client');
    expect(s).toContain('553 5.7.1 Sender address rejected');
  });

  it('every reason has words, no reason has none', () => {
    for (const r of ['merchant', 'quota', 'errors', 'ab_waiting'] as const) {
      expect(describePause({ pause_reason: r, pause_detail: null, resume_at: null }), `${r} is explained`).not.toBe('');
    }
    expect(describePause({ pause_reason: null, pause_detail: null, resume_at: null }), 'not paused: nothing to say').toBe('');
  });
});

describe('test sends', () => {
  it('sent and outbox are outcomes, anything else is the reason of a failure', () => {
    expect(testOutcomeKind('sent'), 'sent through the provider').toBe('sent');
    expect(testOutcomeKind('outbox'), 'written as an .eml file').toBe('outbox');
    expect(testOutcomeKind('535 Authentication failed'), 'any other text is a failure').toBe('failed');
  });
});
