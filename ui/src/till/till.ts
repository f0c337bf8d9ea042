// Pure helpers of the till screen.

/** What the till guesses from text typed for an unknown customer. */
export type NewCustomerGuess = { first_name: string; last_name: string; phone: string; email: string };

/** An email goes into email, something phone-like into phone, otherwise words become first and last name. */
export function guessNewCustomer(text: string): NewCustomerGuess {
  const s = text.trim().replace(/\s+/g, ' ');
  const empty = { first_name: '', last_name: '', phone: '', email: '' };
  if (s === '') return empty;
  if (s.includes('@')) return { ...empty, email: s };
  const digits = s.replace(/\D/g, '');
  if (/^\+?[\d\s().-]+$/.test(s) && digits.length >= 6) return { ...empty, phone: s };
  const [first, ...rest] = s.split(' ');
  return { ...empty, first_name: first, last_name: rest.join(' ') };
}
