// What comes back to the mailbox: where it is read (IMAP, a provider's bounce API) and the
// connection test, "read now", the state of the readings, the log with its raw reports, the STOP
// replies to confirm, the tests read back, and the suppression list with its lifting.
import type { ConnectionCheck } from '../generated/ConnectionCheck';
import type { Kind } from '../generated/Kind';
import type { MailboxEntry } from '../generated/MailboxEntry';
import type { MailboxSettings } from '../generated/MailboxSettings';
import type { MailboxSettingsView } from '../generated/MailboxSettingsView';
import type { MailboxStatus } from '../generated/MailboxStatus';
import type { Outcome } from '../generated/Outcome';
import type { RunReport } from '../generated/RunReport';
import type { StopRequest } from '../generated/StopRequest';
import type { SuppressionPage } from '../generated/SuppressionPage';
import type { TestReadback } from '../generated/TestReadback';
import { call } from './core';

export const mailboxSettingsGet = () => call<MailboxSettingsView>('mailbox_settings_get');
/** `password` and `apiKey` only when typed: they go to the keychain and never come back. */
export const mailboxSettingsSave = (input: MailboxSettings, password: string | null, apiKey: string | null, key: string) =>
  call<MailboxSettingsView>('mailbox_settings_save', { input, password, apiKey, key });
export const mailboxTestConnection = (input: MailboxSettings, password: string | null) =>
  call<ConnectionCheck>('mailbox_test_connection', { input, password });
export const mailboxReadNow = () => call<RunReport[]>('mailbox_read_now');
export const mailboxStatus = () => call<MailboxStatus>('mailbox_status');
export const mailboxLog = (kinds: Kind[], before: number | null, limit: number) =>
  call<MailboxEntry[]>('mailbox_log', { kinds, before, limit });
export const mailboxRaw = (id: number) => call<string>('mailbox_raw', { id });
export const mailboxStopRequests = () => call<StopRequest[]>('mailbox_stop_requests');
export const mailboxStopConfirm = (id: number, key: string) => call<Outcome<null>>('mailbox_stop_confirm', { id, key });
export const mailboxStopDismiss = (id: number, key: string) => call<Outcome<null>>('mailbox_stop_dismiss', { id, key });
export const mailboxTestReadbacks = () => call<TestReadback[]>('mailbox_test_readbacks');
export const suppressionsList = (query: string, limit: number) => call<SuppressionPage>('suppressions_list', { query, limit });
/** `reason` is required: why the address may receive messages again. */
export const suppressionLift = (email: string, reason: string, key: string) =>
  call<Outcome<null>>('suppression_lift', { email, reason, key });
