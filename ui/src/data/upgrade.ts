// The screen shown while an older customer file is upgraded: its steps in order and how long it
// has been running, in words. Pure, so the rules are tested without a window.
import type { UpgradeStage } from '$lib/generated/UpgradeStage';

/** The upgrade's steps in the order they run, with the key that names each. */
export const upgradeSteps: { stage: UpgradeStage; key: string }[] = [
  { stage: 'copying', key: 'ui.data.upgrade_copying' },
  { stage: 'checking', key: 'ui.data.upgrade_checking' },
  { stage: 'upgrading', key: 'ui.data.upgrade_upgrading' },
];

/** How long the upgrade has run, as a catalogue key and its values: seconds under a minute,
 *  then minutes and seconds (a large shop's upgrade takes minutes). */
export function elapsedText(ms: number): { key: string; params: Record<string, number> } {
  const total = Math.max(0, Math.floor(ms / 1000));
  if (total < 60) return { key: 'ui.data.upgrade_elapsed_s', params: { seconds: total } };
  return { key: 'ui.data.upgrade_elapsed_min', params: { minutes: Math.floor(total / 60), seconds: total % 60 } };
}
