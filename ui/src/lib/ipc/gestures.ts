// Loyalty gestures made by hand on a customer's page.
import type { Action } from '../generated/Action';
import type { Outcome } from '../generated/Outcome';
import type { Voucher } from '../generated/Voucher';
import type { VoucherInput } from '../generated/VoucherInput';
import type { PrintableCard } from '../generated/PrintableCard';
import { call } from './core';

export const loyaltyAction = (customer: number, action: Action, staff: string, key: string) =>
  call<Outcome<number>>('loyalty_action', { customer, action, staff, key });
export const voucherIssue = (input: VoucherInput, key: string) => call<Outcome<Voucher>>('voucher_issue', { input, key });

export const cardsPrintable = (customers: number[]) => call<PrintableCard[]>('cards_printable', { customers });
export const cardBlock = (number: string, key: string) => call<Outcome<null>>('card_block', { number, key });
export const settingsLogo = (logo: string | null, key: string) => call<Outcome<null>>('settings_logo', { logo, key });
