// Rewards given from the customer page, without a sale.
import { describe, expect, it } from 'vitest';
import type { RewardKind } from '$lib/generated/RewardKind';
import type { RewardOffer } from '$lib/generated/RewardOffer';
import { givableRewards } from './rewards';

const offer = (id: number, kind: RewardKind, affordable = true): RewardOffer => ({
  reward: {
    id, name: `r${id}`, kind, points_cost: 100, value: 0, stock: null, per_customer_limit: null, valid_from: null,
    valid_to: null, voucher_days: 90, active: true, redeemed: 0,
  },
  affordable,
});

describe('rewards given without a sale', () => {
  it('are the affordable ones that are not discounts', () => {
    const offers = [
      offer(1, 'fixed_discount'), offer(2, 'percent_discount'), offer(3, 'free_product'), offer(4, 'voucher'),
      offer(5, 'experience'), offer(6, 'partner'), offer(7, 'experience', false),
    ];
    expect(givableRewards(offers).map((o) => o.reward.id), 'discounts are used at the till; 7 costs too much').toEqual([3, 4, 5, 6]);
    expect(givableRewards([])).toEqual([]);
  });
});
