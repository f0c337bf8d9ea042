// Automatic messages: the six automations, their settings and messages, turning them on and
// off, the shared sending rules, the journal, the next 7 days, the decision after a long
// closure and the results. The message preview and the test send are the campaign ones.
import type { Automation } from '../generated/Automation';
import type { AutomationInput } from '../generated/AutomationInput';
import type { AutomationResults } from '../generated/AutomationResults';
import type { AutomationSettings } from '../generated/AutomationSettings';
import type { CatchUp } from '../generated/CatchUp';
import type { EnableMode } from '../generated/EnableMode';
import type { JournalEntry } from '../generated/JournalEntry';
import type { Outcome } from '../generated/Outcome';
import type { PreviewEntry } from '../generated/PreviewEntry';
import type { Qualifying } from '../generated/Qualifying';
import { call } from './core';

export const automationsList = () => call<Automation[]>('automations_list');
export const automationSave = (id: number, input: AutomationInput, key: string) =>
  call<Outcome<Automation>>('automation_save', { id, input, key });
export const automationSettingsGet = () => call<AutomationSettings>('automation_settings_get');
export const automationSettingsSave = (settings: AutomationSettings, key: string) =>
  call<Outcome<AutomationSettings>>('automation_settings_save', { settings, key });
export const automationQualifying = (id: number) => call<Qualifying>('automation_qualifying', { id });
export const automationEnable = (id: number, mode: EnableMode, key: string) =>
  call<Outcome<Automation>>('automation_enable', { id, mode, key });
export const automationDisable = (id: number, key: string) =>
  call<Outcome<Automation>>('automation_disable', { id, key });
export const automationResume = (id: number, key: string) =>
  call<Outcome<Automation>>('automation_resume', { id, key });
export const automationJournal = (id: number, before: number | null, limit: number) =>
  call<JournalEntry[]>('automation_journal', { id, before, limit });
export const automationPreview = (days: number) => call<PreviewEntry[]>('automation_preview', { days });
export const automationDecisions = () => call<CatchUp[]>('automation_decisions');
export const automationDecide = (id: number, send: boolean, key: string) =>
  call<Outcome<number>>('automation_decide', { id, send, key });
export const automationResults = (id: number) => call<AutomationResults>('automation_results', { id });
