// What the till puts in the new-customer form from the text typed.
import { describe, expect, it } from 'vitest';
import { guessNewCustomer } from './till';

describe('guessNewCustomer: what the till puts in the new-customer form', () => {
  const cases: [string, Partial<ReturnType<typeof guessNewCustomer>>, string][] = [
    ['marie@exemple.test', { email: 'marie@exemple.test' }, 'an email goes into the email field'],
    ['06 12 34 56 78', { phone: '06 12 34 56 78' }, 'a phone typed with spaces goes into the phone field'],
    ['+1 (514) 555-0199', { phone: '+1 (514) 555-0199' }, 'an international phone goes into the phone field'],
    ['Élodie Lefèvre', { first_name: 'Élodie', last_name: 'Lefèvre' }, 'the first word is the first name, the rest the last name'],
    ['  Jean   de la   Fontaine ', { first_name: 'Jean', last_name: 'de la Fontaine' }, 'spaces are tidied'],
    ['Zoé', { first_name: 'Zoé', last_name: '' }, 'one word is a first name'],
    ['0612', { first_name: '0612', last_name: '' }, 'too few digits is not a phone'],
    ['', {}, 'nothing typed gives an empty form'],
  ];
  for (const [typed, want, rule] of cases) {
    it(rule, () => {
      expect(guessNewCustomer(typed), rule).toEqual({ first_name: '', last_name: '', phone: '', email: '', ...want });
    });
  }
});
