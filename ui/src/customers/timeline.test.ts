// The customer timeline's loyalty and automation entries, in words (French, the default).
import { describe, expect, it } from 'vitest';
import { automationReason } from '$lib/automationReasons';
import { automationLine, stampsLine, tierLine, voucherIssuedLine, voucherUsedLine } from './timeline';

const at = '2026-11-23T10:00:00Z';

describe('timeline words', () => {
  it('says what happened to the stamp card', () => {
    const s = (kind: string, stamps: number, milestone: number | null, label: string | null, returned = false) =>
      stampsLine({ at, type: 'stamps', kind, stamps, milestone, label, returned });
    expect(s('earn', 1, null, null)).toBe('Carte de fidélité : +1 tampon(s)');
    expect(s('reverse', -1, null, null)).toBe('Carte de fidélité : 1 tampon(s) repris (vente remboursée)');
    expect(s('redeem', 0, 0, 'Croissant')).toBe('Palier de la carte utilisé : Croissant');
    expect(s('redeem', -10, 1, 'Café offert')).toBe('Carte complète utilisée : Café offert (10 tampons)');
    expect(s('returned', 0, 0, 'Croissant', true)).toBe('Palier rendu : Croissant (vente remboursée en entier)');
    expect(s('returned', 10, 1, 'Café offert', true)).toContain('10 tampons recrédités');
    expect(s('redeem', 0, 2, null), 'a milestone removed from the programme since').toBe('Palier de la carte utilisé : palier n° 3');
    expect(s('merge', 4, null, null), 'an unknown kind reads as a correction').toBe('Carte de fidélité corrigée : +4 tampon(s)');
  });

  it('says when a voucher was used and given back', () => {
    expect(voucherUsedLine({ at, type: 'voucher_used', code: 'BON-7K2', purchase_id: 3, undone: false, label: null, staff: null })).toBe("Bon d'achat BON-7K2 utilisé");
    expect(voucherUsedLine({ at, type: 'voucher_used', code: 'BON-7K2', purchase_id: 3, undone: true, label: null, staff: null })).toContain('rendu');
  });

  it('says a tier was reached or lost, and what remains', () => {
    expect(tierLine({ at, type: 'tier_changed', tier: 'Or', up: true, to: null })).toBe('Niveau atteint : Or');
    expect(tierLine({ at, type: 'tier_changed', tier: 'Or', up: false, to: 'Argent' })).toContain('Or, désormais Argent');
    expect(tierLine({ at, type: 'tier_changed', tier: 'Or', up: false, to: null })).toContain('Niveau perdu : Or');
  });

  it('says what became of an automatic message and why', () => {
    const a = (state: string, reason: string | null, automation = 'birthday') =>
      automationLine({ at, type: 'automation', automation, occasion: 'birthday:2026', state, reason });
    expect(a('sent', null)).toBe('Message automatique « Anniversaire » envoyé');
    expect(a('held_out', 'control')).toContain('groupe témoin');
    expect(a('expired', 'window_passed', 'expiry')).toContain('« Points qui expirent » expiré');
    expect(automationReason('came_back')).toBe('Le client est revenu entre-temps.');
    expect(automationReason('unsubscribed')).toBe("Le client s'est désabonné.");
    expect(automationReason('something_new'), 'a reason without words yet is not shown raw').toBe('Raison non précisée.');
    expect(automationReason(null)).toBeNull();
  });

  it('keeps hostile names as plain text', () => {
    const line = tierLine({ at, type: 'tier_changed', tier: '<img src=x onerror=alert(1)>', up: true, to: null });
    expect(line).toBe('Niveau atteint : <img src=x onerror=alert(1)>');
  });
});

describe('gift vouchers in the timeline', () => {
  const used = (purchase_id: number | null, undone: boolean, staff: string | null) =>
    voucherUsedLine({ at, type: 'voucher_used', code: 'K7P2-X9MQ', purchase_id, undone, label: 'Viennoiserie offerte', staff });
  it('names the gift, never an amount', () => {
    expect(used(3, false, null), 'handed over with a sale').toBe('Cadeau K7P2-X9MQ remis : Viennoiserie offerte');
    expect(used(null, false, 'Marie'), 'handed over from the customer page, by whom').toBe('Cadeau K7P2-X9MQ remis par Marie : Viennoiserie offerte');
    expect(used(3, true, null), 'its sale refunded').toContain('de nouveau disponible');
    const issued = (kind: string, value: number, label: string | null) =>
      voucherIssuedLine({ at, type: 'voucher_issued', code: 'K7P2-X9MQ', kind, value, reason: null, label });
    expect(issued('gift', 150, 'Viennoiserie offerte'), 'a gift issued reads as its name, not its cost').toBe('Cadeau K7P2-X9MQ : Viennoiserie offerte');
    expect(issued('amount', 1000, null).replace(/[\u00a0\u202f]/g, ' ')).toBe("Bon d'achat K7P2-X9MQ de 10,00 €");
  });
});
