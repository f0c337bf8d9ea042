// The customer file: list and search, one customer, duplicates and merges, timeline, notes, consent.
import type { ConsentInput } from '../generated/ConsentInput';
import type { Customer } from '../generated/Customer';
import type { CustomerInput } from '../generated/CustomerInput';
import type { CustomerSummary } from '../generated/CustomerSummary';
import type { DuplicateMatch } from '../generated/DuplicateMatch';
import type { ListPage } from '../generated/ListPage';
import type { ListRequest } from '../generated/ListRequest';
import type { NewCustomer } from '../generated/NewCustomer';
import type { Outcome } from '../generated/Outcome';
import type { TimelineEntry } from '../generated/TimelineEntry';
import { call } from './core';

export const customersList = (req: ListRequest) => call<ListPage>('customers_list', { req });
export const customersSearch = (query: string, limit: number) =>
  call<CustomerSummary[]>('customers_search', { query, limit });
export const customerGet = (id: number) => call<Customer>('customer_get', { id });
export const customerCreate = (input: NewCustomer, key: string) =>
  call<Outcome<number>>('customer_create', { input, key });
export const customerUpdate = (id: number, input: CustomerInput, key: string) =>
  call<Outcome<null>>('customer_update', { id, input, key });
export const customerArchive = (id: number, key: string) => call<Outcome<null>>('customer_archive', { id, key });
export const customerRestore = (id: number, key: string) => call<Outcome<null>>('customer_restore', { id, key });
export const customerDuplicates = (input: CustomerInput, exclude: number | null) =>
  call<DuplicateMatch[]>('customer_duplicates', { input, exclude });
export const customerMerge = (keep: number, other: number, key: string) =>
  call<Outcome<null>>('customer_merge', { keep, other, key });
export const customerTimeline = (id: number, limit: number) =>
  call<TimelineEntry[]>('customer_timeline', { id, limit });
export const customerAddNote = (id: number, body: string, key: string) =>
  call<Outcome<number>>('customer_add_note', { id, body, key });
export const customerSetConsent = (id: number, consent: ConsentInput, key: string) =>
  call<Outcome<null>>('customer_set_consent', { id, consent, key });
