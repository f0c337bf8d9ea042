import { describe, expect, it } from 'vitest';
import { automationReason } from '$lib/automationReasons';
import { countsLine, minutesToTime, occasionLabel, parseReminders, timeToMinutes } from './automations';

describe('sending hours', () => {
  it('writes minutes of the day as HH:MM', () => {
    expect(minutesToTime(540), '9:00 is written with two digits').toBe('09:00');
    expect(minutesToTime(1170)).toBe('19:30');
  });
  it('reads HH:MM back, refusing impossible times', () => {
    expect(timeToMinutes('9:00')).toBe(540);
    expect(timeToMinutes(' 19:30 ')).toBe(1170);
    expect(timeToMinutes('24:00'), 'the end of the day').toBe(1440);
    expect(timeToMinutes('24:30'), 'no time after midnight').toBeNull();
    expect(timeToMinutes('12:60'), 'no 60th minute').toBeNull();
    expect(timeToMinutes('midi'), 'words are not a time').toBeNull();
  });
});

describe('expiry reminders', () => {
  it('reads up to three day counts, largest first, without repeats', () => {
    expect(parseReminders('7, 30')).toEqual([30, 7]);
    expect(parseReminders('30;7 7')).toEqual([30, 7]);
  });
  it('refuses what is not 1 to 90 whole days, or more than three', () => {
    expect(parseReminders(''), 'at least one').toBeNull();
    expect(parseReminders('0'), 'no day zero').toBeNull();
    expect(parseReminders('91')).toBeNull();
    expect(parseReminders('2.5')).toBeNull();
    expect(parseReminders('1, 2, 3, 4'), 'three at most').toBeNull();
  });
});

describe('journal words', () => {
  it('names the occasion from its key', () => {
    expect(occasionLabel('birthday:2027')).toBe('2027');
    expect(occasionLabel('expiry:2027-01-31:30'), 'the expiry date and the reminder').toBe('2027-01-31 (30)');
    expect(occasionLabel('welcome'), 'the welcome has no occasion to name').toBe('');
  });
  it('says a reason in the same words as the customer timeline, never a raw code or server text', () => {
    expect(automationReason('pressure')).toBe('Reporté : limite de messages automatiques par client.');
    expect(automationReason('550 mailbox unavailable <x@example.com>')).toBe('Raison non précisée.');
    expect(automationReason(null)).toBeNull();
  });
  it('counts waiting and not-sent occasions together for the card', () => {
    const c = countsLine({ pending: 1, postponed: 2, awaiting: 3, queued: 4, sent: 5, failed: 6, skipped: 7, expired: 8, held_out: 9 });
    expect(c).toEqual({ sent: 5, waiting: 10, notSent: 21 });
  });
});
