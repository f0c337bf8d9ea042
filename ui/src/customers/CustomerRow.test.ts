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
});
