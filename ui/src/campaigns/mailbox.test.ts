import { describe, expect, it } from 'vitest';
import type { MailboxStatus } from '$lib/generated/MailboxStatus';
import type { Readback } from '$lib/generated/Readback';
import { decisionKey, placeKey, problemKey, readbackTone, reasonKey, statusKey, verdictKey, verdictTone } from './mailbox';

const rb = (over: Partial<Readback>): Readback => ({
  folder: 'INBOX',
  junk: false,
  spf: 'pass',
  dkim: 'pass',
  dmarc: 'pass',
  spam_flag: false,
  spam_score: null,
  checked_by: null,
  ...over,
});

const status = (over: Partial<MailboxStatus>): MailboxStatus => ({
  configured: true,
  reading_required: true,
  last_success: '2026-11-23T09:00:00Z',
  last_run: null,
  sending_blocked: false,
  hours_since: 1,
  pending_stops: 0,
  suppressed: 0,
  ...over,
});

describe('mailbox words', () => {
  it('an unknown problem code reads as "other", never as a missing key', () => {
    expect(problemKey('wrong_password')).toBe('ui.mailbox.problem.wrong_password');
    expect(problemKey('basic_auth_disabled'), 'Microsoft refusing passwords is told as such').toBe('ui.mailbox.problem.basic_auth_disabled');
    expect(problemKey('<script>')).toBe('ui.mailbox.problem.other');
    expect(problemKey(null)).toBe('ui.mailbox.problem.other');
  });
  it('a pass is good, a fail bad, anything else a warning, nothing written unknown', () => {
    expect(verdictTone('pass')).toBe('ok');
    expect(verdictTone('fail')).toBe('bad');
    expect(verdictTone('softfail')).toBe('warn');
    expect(verdictTone(null)).toBe('unknown');
    expect(verdictKey('dmarc', 'fail')).toBe('ui.mailbox.rb.dmarc.fail');
    expect(verdictKey('spf', 'weird')).toBe('ui.mailbox.rb.spf.unknown');
  });
  it('a test in the spam folder, or with a failed check, is bad', () => {
    expect(readbackTone(rb({}))).toBe('ok');
    expect(readbackTone(rb({ junk: true, folder: 'Junk' }))).toBe('bad');
    expect(readbackTone(rb({ dmarc: 'fail' }))).toBe('bad');
    expect(readbackTone(rb({ dkim: null }))).toBe('warn');
    expect(placeKey(rb({ junk: true }))).toBe('ui.mailbox.rb.place.junk');
    expect(placeKey(rb({ spam_flag: true }))).toBe('ui.mailbox.rb.place.inbox_flagged');
  });
  it('decisions and reasons map to keys, unknown ones safely', () => {
    expect(decisionKey({ decision: 'suppressed' })).toBe('ui.mailbox.decision.suppressed');
    expect(decisionKey({ decision: 'odd' })).toBe('ui.mailbox.decision.ignored');
    expect(reasonKey('not_ours')).toBe('ui.mailbox.reason.not_ours');
    expect(reasonKey(null)).toBeNull();
  });
  it('the banner says why sending waits', () => {
    expect(statusKey(status({ configured: false, reading_required: true }))).toBe('ui.mailbox.status.not_configured_required');
    expect(statusKey(status({ sending_blocked: true, last_success: null }))).toBe('ui.mailbox.status.never');
    expect(statusKey(status({ sending_blocked: true }))).toBe('ui.mailbox.status.stale');
    expect(statusKey(status({}))).toBe('ui.mailbox.status.ok');
    expect(statusKey(status({ last_success: null, sending_blocked: false }))).toBe('ui.mailbox.status.not_read_yet');
    const failed = { source: 'imap', ok: false, problem: 'timeout', detail: '', fetched: 0, handled: 0, at: '2026-11-23T09:00:00Z' };
    expect(statusKey(status({ last_success: null, sending_blocked: false, last_run: failed }))).toBe('ui.mailbox.status.failed_never');
    expect(statusKey(status({ last_run: failed }))).toBe('ui.mailbox.status.last_failed');
  });
});
