// The consent choices and sources a person may pick by hand on the customer form and page.
import type { ConsentChoice } from '$lib/generated/ConsentChoice';
import type { ConsentSource } from '$lib/generated/ConsentSource';

export const CONSENT_CHOICES: readonly ConsentChoice[] = ['express', 'existing_customer', 'refused'];
/**
 * The sources a person may pick by hand. "unsubscribe" is recorded only by the app (a reply or
 * a link from a message) and is displayed, never chosen.
 */
export const CONSENT_SOURCES: readonly ConsentSource[] = ['counter', 'paper_form', 'website', 'import', 'email'];
