// Pure helpers of the deliverability screens: a core sentence (catalogue key and arguments) in
// the interface's language, the label of a state or record kind, and the content check's
// findings grouped into "to fix" and "advice". The keys are written out so the catalogue tests
// see them.
import type { Finding } from '$lib/generated/Finding';
import type { Level } from '$lib/generated/Level';
import type { RecordKind } from '$lib/generated/RecordKind';
import type { Said } from '$lib/generated/Said';
import type { Variant } from '$lib/generated/Variant';
import { t } from '$lib/i18n';

/** A sentence the core built, in the current language. */
export function say(s: Said): string {
  return t(s.key, Object.fromEntries(s.args));
}

export const LEVEL_LABEL: Record<Level, string> = {
  ok: 'ui.deliverability.level.ok',
  warning: 'ui.deliverability.level.warning',
  unknown: 'ui.deliverability.level.unknown',
  problem: 'ui.deliverability.level.problem',
};

export const SUMMARY: Record<Level, string> = {
  ok: 'ui.deliverability.summary.ok',
  warning: 'ui.deliverability.summary.warning',
  unknown: 'ui.deliverability.summary.unknown',
  problem: 'ui.deliverability.summary.problem',
};

export const KIND_LABEL: Record<RecordKind, string> = {
  spf: 'ui.deliverability.kind.spf',
  dkim: 'ui.deliverability.kind.dkim',
  dmarc: 'ui.deliverability.kind.dmarc',
};

/** The alert style of a state: good, advice, not checked, to fix. */
export function levelClass(l: Level): string {
  return { ok: 'ok', warning: 'warn', unknown: 'info', problem: 'error' }[l];
}

/** Findings split into blocking ones and advice, each keeping its order. */
export function groupFindings(findings: Finding[]): { block: Finding[]; warn: Finding[] } {
  return {
    block: findings.filter((f) => f.severity === 'block'),
    warn: findings.filter((f) => f.severity === 'warn'),
  };
}

/** "Version A: …" when the campaign tests two versions. */
export function findingText(f: Finding): string {
  const text = say(f.said);
  return f.variant ? t('ui.deliverability.variant', { variant: variantName(f.variant), text }) : text;
}

function variantName(v: Variant): string {
  return v === 'a' ? 'A' : 'B';
}
