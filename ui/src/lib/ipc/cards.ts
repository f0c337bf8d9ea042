// Loyalty cards: replace or block one, and the printable sheet of cards.
import type { Outcome } from '../generated/Outcome';
import type { PrintableCard } from '../generated/PrintableCard';
import { call } from './core';

export const cardReplace = (customer: number, key: string) => call<Outcome<string>>('card_replace', { customer, key });
export const cardBlock = (number: string, key: string) => call<Outcome<null>>('card_block', { number, key });
export const cardsPrintable = (customers: number[]) => call<PrintableCard[]>('cards_printable', { customers });
