// Referrals (parrainage): the offer and its live check, linking a friend to their referrer at
// creation or later, a customer's referrals, the review queue, ambassadors and who referred
// whom, printable cards, rules and notice.
import type { Ambassador } from '../generated/Ambassador';
import type { CustomerReferrals } from '../generated/CustomerReferrals';
import type { Decision } from '../generated/Decision';
import type { Lang } from '../generated/Lang';
import type { NewCustomer } from '../generated/NewCustomer';
import type { Notice } from '../generated/Notice';
import type { Offer } from '../generated/Offer';
import type { OfferCheck } from '../generated/OfferCheck';
import type { OfferVersion } from '../generated/OfferVersion';
import type { Outcome } from '../generated/Outcome';
import type { Overview } from '../generated/Overview';
import type { ProcessReport } from '../generated/ProcessReport';
import type { ReferralCard } from '../generated/ReferralCard';
import type { ReferralStatus } from '../generated/ReferralStatus';
import type { ReferralTree } from '../generated/ReferralTree';
import type { ReferralView } from '../generated/ReferralView';
import type { ReferrerLink } from '../generated/ReferrerLink';
import type { ReferrerLookup } from '../generated/ReferrerLookup';
import type { Reglement } from '../generated/Reglement';
import { call } from './core';

export const referralOfferGet = () => call<OfferVersion | null>('referral_offer_get');
export const referralOfferCheck = (offer: Offer) => call<OfferCheck>('referral_offer_check', { offer });
export const referralOfferSave = (offer: Offer, key: string) =>
  call<Outcome<OfferVersion>>('referral_offer_save', { offer, key });
export const referralOverview = () => call<Overview>('referral_overview');
export const referralProcess = () => call<Outcome<ProcessReport>>('referral_process');

export const referrerLookup = (text: string) => call<ReferrerLookup>('referrer_lookup', { text });
export const referralCustomerCreate = (input: NewCustomer, link: ReferrerLink, key: string) =>
  call<Outcome<number>>('referral_customer_create', { input, link, key });
export const referralSetReferrer = (friend: number, link: ReferrerLink, note: string, key: string) =>
  call<Outcome<null>>('referral_set_referrer', { friend, link, note, key });
export const referralRemoveReferrer = (friend: number, staff: string, note: string, key: string) =>
  call<Outcome<null>>('referral_remove_referrer', { friend, staff, note, key });

export const referralCustomer = (customer: number) => call<CustomerReferrals>('referral_customer', { customer });
export const referralReviewQueue = () => call<ReferralView[]>('referral_review_queue');
export const referralReview = (id: number, decision: Decision, reason: string, staff: string, key: string) =>
  call<Outcome<null>>('referral_review', { id, decision, reason, staff, key });
export const referralsList = (status: ReferralStatus | null, limit: number) =>
  call<ReferralView[]>('referrals_list', { status, limit });
export const referralAmbassadors = (limit: number) => call<Ambassador[]>('referral_ambassadors', { limit });
export const referralTree = (customer: number) => call<ReferralTree>('referral_tree', { customer });
export const referralCards = (customers: number[]) => call<ReferralCard[]>('referral_cards', { customers });
export const referralReglement = (lang: Lang) => call<Reglement | null>('referral_reglement', { lang });
export const referralNotice = (lang: Lang) => call<Notice | null>('referral_notice', { lang });
