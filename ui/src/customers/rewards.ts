// Which catalogue rewards the customer page can give without a sale: those that are not a
// discount (a discount lowers a ticket, so it is used at the till) and that the customer can
// pay for with their points now. The core checks the same again when it is given.
import type { RewardKind } from '$lib/generated/RewardKind';
import type { RewardOffer } from '$lib/generated/RewardOffer';

const NEEDS_A_SALE: readonly RewardKind[] = ['fixed_discount', 'percent_discount'];

export function givableRewards(offers: RewardOffer[]): RewardOffer[] {
  return offers.filter((o) => o.affordable && !NEEDS_A_SALE.includes(o.reward.kind));
}
