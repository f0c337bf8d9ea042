// The loyalty programme: its settings, a customer's balance and ledger, gestures made by hand,
// the reward catalogue, paper vouchers, and the overview (liability, expiring, suspicious days).
import type { Action } from '../generated/Action';
import type { Earning } from '../generated/Earning';
import type { ExpiringForCustomer } from '../generated/ExpiringForCustomer';
import type { Liability } from '../generated/Liability';
import type { LoyaltyStatus } from '../generated/LoyaltyStatus';
import type { Outcome } from '../generated/Outcome';
import type { PointsEntry } from '../generated/PointsEntry';
import type { Programme } from '../generated/Programme';
import type { Reward } from '../generated/Reward';
import type { RewardInput } from '../generated/RewardInput';
import type { Redemption } from '../generated/Redemption';
import type { SuspiciousDay } from '../generated/SuspiciousDay';
import type { SuspiciousPeriod } from '../generated/SuspiciousPeriod';
import type { Voucher } from '../generated/Voucher';
import type { VoucherInput } from '../generated/VoucherInput';
import { call } from './core';

export const loyaltyProgrammeGet = () => call<Programme>('loyalty_programme_get');
export const loyaltyProgrammeSave = (programme: Programme, key: string) =>
  call<Outcome<Programme>>('loyalty_programme_save', { programme, key });

export const loyaltyStatus = (customer: number) => call<LoyaltyStatus>('loyalty_status', { customer });
export const loyaltyLedger = (customer: number, limit: number) => call<PointsEntry[]>('loyalty_ledger', { customer, limit });
export const loyaltySaleEarning = (purchase: number) => call<Earning | null>('loyalty_sale_earning', { purchase });

// Gestures made by hand on a customer's page.
export const loyaltyAdjust = (customer: number, points: number, reason: string, staff: string, key: string) =>
  call<Outcome<number>>('loyalty_adjust', { customer, points, reason, staff, key });
export const loyaltyAction = (customer: number, action: Action, staff: string, key: string) =>
  call<Outcome<number>>('loyalty_action', { customer, action, staff, key });

export const rewardsList = (all: boolean) => call<Reward[]>('rewards_list', { all });
export const rewardSave = (id: number | null, input: RewardInput, key: string) =>
  call<Outcome<Reward>>('reward_save', { id, input, key });
export const voucherIssue = (input: VoucherInput, key: string) => call<Outcome<Voucher>>('voucher_issue', { input, key });
export const voucherHandOver = (customer: number, code: string, staff: string, key: string) =>
  call<Outcome<Voucher>>('voucher_hand_over', { customer, code, staff, key });

export const loyaltyLiability = () => call<Liability>('loyalty_liability');
export const loyaltyExpiring = () => call<ExpiringForCustomer[]>('loyalty_expiring');
/** `day`: the first local day of the period, `YYYY-MM-DD`. */
export const loyaltySuspicious = (day: string, period: SuspiciousPeriod) =>
  call<SuspiciousDay[]>('loyalty_suspicious', { day, period });
/** A reward that is not a discount, given from the customer page without a sale. */
export const loyaltyGiveReward = (customer: number, reward: number, staff: string, key: string) =>
  call<Outcome<Redemption>>('loyalty_give_reward', { customer, reward, staff, key });
