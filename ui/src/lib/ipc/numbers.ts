// The numbers: the dashboard, one customer's numbers, the customers behind a number and their
// score columns, the numbers' settings, satisfaction answers (till, paper form) and follow-ups.
import type { AnalyticsSettings } from '../generated/AnalyticsSettings';
import type { CustomerInsight } from '../generated/CustomerInsight';
import type { CustomerNps } from '../generated/CustomerNps';
import type { Dashboard } from '../generated/Dashboard';
import type { DashboardRequest } from '../generated/DashboardRequest';
import type { NpsAnswer } from '../generated/NpsAnswer';
import type { NpsComments } from '../generated/NpsComments';
import type { NpsInput } from '../generated/NpsInput';
import type { NpsSummary } from '../generated/NpsSummary';
import type { NumbersListPage } from '../generated/NumbersListPage';
import type { NumbersListRequest } from '../generated/NumbersListRequest';
import type { Outcome } from '../generated/Outcome';
import type { ScoreColumns } from '../generated/ScoreColumns';
import type { Theme } from '../generated/Theme';
import { call } from './core';

export const numbersDashboard = (req: DashboardRequest) => call<Dashboard>('numbers_dashboard', { req });
export const numbersCustomer = (id: number) => call<CustomerInsight>('numbers_customer', { id });
export const numbersList = (req: NumbersListRequest) => call<NumbersListPage>('numbers_list', { req });
export const numbersScoreColumns = (ids: number[]) => call<ScoreColumns[]>('numbers_score_columns', { ids });
export const numbersSettingsGet = () => call<AnalyticsSettings>('numbers_settings_get');
export const numbersSettingsSave = (settings: AnalyticsSettings, key: string) =>
  call<Outcome<AnalyticsSettings>>('numbers_settings_save', { settings, key });

export const npsRecord = (input: NpsInput, key: string) => call<Outcome<NpsAnswer>>('nps_record', { input, key });
/** The question was put at the till (answered or declined): not again for 90 days. */
export const npsAsked = (customer: number, key: string) => call<Outcome<null>>('nps_asked', { customer, key });
export const npsCustomer = (customer: number) => call<CustomerNps>('nps_customer', { customer });
export const npsFollowupDone = (id: number, note: string, key: string) =>
  call<Outcome<null>>('nps_followup_done', { id, note, key });
export const npsSummary = (months: number) => call<NpsSummary>('nps_summary', { months });
export const npsComments = (theme: Theme | null, months: number, limit: number) =>
  call<NpsComments>('nps_comments', { theme, months, limit });

/** Tell the shell the first screen is painted (read by the start-up benchmark only). */
export const appPainted = (screen: string) => call<null>('app_painted', { screen });
