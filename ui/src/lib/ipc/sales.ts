// The till: find the customer by card, phone or name, record a sale (with the loyalty it
// applies), refund one.
import type { Outcome } from '../generated/Outcome';
import type { Purchase } from '../generated/Purchase';
import type { RefundInput } from '../generated/RefundInput';
import type { SaleInput } from '../generated/SaleInput';
import type { TillMatch } from '../generated/TillMatch';
import { call } from './core';

export const tillLookup = (query: string) => call<TillMatch | null>('till_lookup', { query });

export const saleRecord = (input: SaleInput, key: string) => call<Outcome<Purchase>>('sale_record', { input, key });
export const saleRefund = (input: RefundInput, key: string) => call<Outcome<Purchase>>('sale_refund', { input, key });
