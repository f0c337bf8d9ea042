// One row of the customer list: the customer's own text is rendered as text, never as HTML.
import { cleanup, render } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { CustomerSummary } from '$lib/generated/CustomerSummary';
import CustomerRow from './CustomerRow.svelte';

afterEach(cleanup);

const evil = '<img src=x onerror=alert(1)>';

describe('CustomerRow', () => {
  it('renders user text literally, never as HTML', () => {
    const customer: CustomerSummary = {
      id: 7,
      display_name: evil,
      email: '"><script>alert(1)</script>@x.fr',
      phone_display: '06 12 34 56 78',
      card_number: '2000000000077',
      postcode: '75011',
      city: 'Paris',
      visit_count: 3,
      total_spent_cents: 4250,
      last_purchase_at: '2026-11-23 14:03:12.123+00:00',
      archived: false,
    };
    const { container } = render(CustomerRow, { props: { customer } });
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('script')).toBeNull();
    const row = container.querySelector('[data-customer-row]');
    expect(row?.textContent).toContain(evil);
    expect(row?.getAttribute('href')).toBe('#/customers/7');
    expect(row?.textContent?.replace(/[\u00a0\u202f]/g, ' ')).toContain('42,50 €');
  });

  it('shows the scores as columns, and only the columns chosen', () => {
    const customer: CustomerSummary = {
      id: 8,
      display_name: 'Élodie Lefèvre',
      email: null,
      phone_display: null,
      card_number: null,
      postcode: null,
      city: null,
      visit_count: 12,
      total_spent_cents: 98000,
      last_purchase_at: null,
      archived: false,
    };
    const scores = { customer_id: 8, segment: 'champions', churn: 'high', clv_cents: 24000, kind: null, nps_score: null } as const;
    const { container } = render(CustomerRow, { props: { customer, scores, columns: ['segment', 'churn', 'value', 'nps'] } });
    const cell = (k: string) => container.querySelector(`[data-col="${k}"]`)?.textContent?.trim();
    expect(cell('segment')).toBe('Champions');
    expect(cell('churn')).toBe('À risque');
    expect(cell('value')?.replace(/[\u00a0\u202f]/g, ' ')).toContain('240,00 €');
    expect(cell('nps'), 'no answer: a dash, not a zero').toBe('–');
    expect(container.querySelector('[data-col="contact"]'), 'a hidden column is not rendered').toBeNull();
  });
});
