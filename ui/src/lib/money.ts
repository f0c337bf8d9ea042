// Amounts typed by people, read into integer cents (money is never a float).

/**
 * Parse an amount typed by a person into integer cents.
 *
 * Accepts "12,50", "12.50", "12", "1 234,50", "1234.5", "12,5 €", "€12.50", "1.234,50", "1,234.50".
 * Returns null for anything else: empty text, letters, negative amounts, more than two decimals,
 * badly grouped thousands. The arithmetic is done on the digits, never on floats.
 */
export function parseMoney(input: string): number | null {
  let s = input.trim();
  // Currency signs or codes at either end.
  s = s.replace(/^(?:CA\$|C\$|\$|€|EUR|CAD)\s*/i, '').replace(/\s*(?:CA\$|C\$|\$|€|EUR|CAD)$/i, '');
  if (s === '') return null;

  let intPart: string;
  let fracPart = '';
  const lastComma = s.lastIndexOf(',');
  const lastDot = s.lastIndexOf('.');
  const decimalAt = Math.max(lastComma, lastDot);
  const separators = (s.match(/[.,]/g) ?? []).length;

  if (separators === 0) {
    intPart = s;
  } else if (lastComma >= 0 && lastDot >= 0) {
    // Both kinds: the last one is the decimal separator, the other groups thousands.
    intPart = s.slice(0, decimalAt);
    fracPart = s.slice(decimalAt + 1);
    const thousands = decimalAt === lastComma ? '.' : ',';
    if (intPart.includes(s[decimalAt])) return null;
    if (!new RegExp(`^\\d{1,3}(\\${thousands}\\d{3})+$`).test(intPart)) return null;
    intPart = intPart.split(thousands).join('');
  } else if (separators === 1) {
    intPart = s.slice(0, decimalAt);
    fracPart = s.slice(decimalAt + 1);
  } else {
    return null;
  }

  // Spaces (including no-break spaces) may group thousands in the integer part.
  if (/[\s\u00a0\u202f\u2009]/.test(intPart)) {
    if (!/^\d{1,3}([\s\u00a0\u202f\u2009]\d{3})+$/.test(intPart)) return null;
    intPart = intPart.replace(/[\s\u00a0\u202f\u2009]/g, '');
  }
  if (!/^\d+$/.test(intPart)) return null;
  if (separators > 0 && !/^\d{1,2}$/.test(fracPart)) return null;
  // Keep within exact integer range (and far above any till amount).
  const digits = intPart.replace(/^0+(?=\d)/, '');
  if (digits.length > 13) return null;
  return Number(digits) * 100 + Number(fracPart.padEnd(2, '0') || '0');
}
