import type { ConsentChoice } from './generated/ConsentChoice';
import type { ConsentSource } from './generated/ConsentSource';

export const CONSENT_CHOICES: readonly ConsentChoice[] = ['express', 'existing_customer', 'refused'];
export const CONSENT_SOURCES: readonly ConsentSource[] = ['counter', 'paper_form', 'website', 'import', 'email'];
