// Pure helpers of the mailbox screens: which catalogue key says a reading's problem, a verdict of
// the test read back, and a log entry's decision, so that the screens only show words.
import type { MailboxEntry } from '$lib/generated/MailboxEntry';
import type { MailboxStatus } from '$lib/generated/MailboxStatus';
import type { Readback } from '$lib/generated/Readback';

/** Problems a reading can report (the SMTP connection test's words, plus a missing password). */
export const READ_PROBLEMS = [
  'wrong_password',
  'app_password_needed',
  'basic_auth_disabled',
  'host_not_found',
  'port_blocked',
  'tls_mismatch',
  'timeout',
  'plain_text_remote',
  'demo_file',
  'password_missing',
  'other',
] as const;

export function problemKey(code: string | null | undefined): string {
  const known = (READ_PROBLEMS as readonly string[]).includes(code ?? '') ? code : 'other';
  return `ui.mailbox.problem.${known}`;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'unknown';

/** SPF, DKIM or DMARC verdict → how it reads: pass is good, fail is bad, the rest a warning. */
export function verdictTone(v: string | null | undefined): Tone {
  if (!v) return 'unknown';
  if (v === 'pass') return 'ok';
  if (v === 'fail' || v === 'permerror') return 'bad';
  return 'warn';
}

export const VERDICTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'] as const;

/** The catalogue key of one check's verdict, e.g. `ui.mailbox.rb.spf.pass`. */
export function verdictKey(check: 'spf' | 'dkim' | 'dmarc', v: string | null | undefined): string {
  const known = v && (VERDICTS as readonly string[]).includes(v) ? v : 'unknown';
  return `ui.mailbox.rb.${check}.${known}`;
}

/** Where the test landed, as a key. */
export function placeKey(r: Readback): string {
  if (r.junk) return 'ui.mailbox.rb.place.junk';
  if (r.spam_flag) return 'ui.mailbox.rb.place.inbox_flagged';
  return 'ui.mailbox.rb.place.inbox';
}

/** The overall tone of a test read back: in spam or a failed check is bad. */
export function readbackTone(r: Readback): Tone {
  const tones = [verdictTone(r.spf), verdictTone(r.dkim), verdictTone(r.dmarc)];
  if (r.junk || r.spam_flag || tones.includes('bad')) return 'bad';
  if (tones.every((t) => t === 'ok')) return 'ok';
  return 'warn';
}

export const DECISIONS = ['suppressed', 'counted', 'applied', 'pending', 'recorded', 'ignored', 'already'] as const;

/** What was done with a message, as a key (`ui.mailbox.decision.suppressed`…). */
export function decisionKey(e: Pick<MailboxEntry, 'decision'>): string {
  const known = (DECISIONS as readonly string[]).includes(e.decision) ? e.decision : 'ignored';
  return `ui.mailbox.decision.${known}`;
}

export const REASONS = ['not_ours', 'test_send', 'still_trying', 'automatic', 'unknown_token', 'unknown_address', 'address_only', 'answered_recently', 'unknown_survey'] as const;

export function reasonKey(reason: string | null): string | null {
  return reason && (REASONS as readonly string[]).includes(reason) ? `ui.mailbox.reason.${reason}` : null;
}

/** The banner of the screen: what the merchant should know about the readings, as a key. */
export function statusKey(s: MailboxStatus): string {
  if (!s.configured) return s.reading_required ? 'ui.mailbox.status.not_configured_required' : 'ui.mailbox.status.not_configured';
  if (s.sending_blocked) return s.last_success ? 'ui.mailbox.status.stale' : 'ui.mailbox.status.never';
  if (s.last_run && !s.last_run.ok) return s.last_success ? 'ui.mailbox.status.last_failed' : 'ui.mailbox.status.failed_never';
  if (!s.last_success) return 'ui.mailbox.status.not_read_yet';
  return 'ui.mailbox.status.ok';
}
