import { describe, expect, it } from 'vitest';
import { elapsedText, upgradeSteps } from './upgrade';

describe('the upgrade screen', () => {
  it('lists the steps in the order the core runs them: copy, check, upgrade', () => {
    expect(upgradeSteps.map((s) => s.stage), 'the safety copy comes first, the steps last').toEqual([
      'copying',
      'checking',
      'upgrading',
    ]);
  });
  it('says seconds under a minute, then minutes and seconds', () => {
    expect(elapsedText(0), 'just started').toEqual({ key: 'ui.data.upgrade_elapsed_s', params: { seconds: 0 } });
    expect(elapsedText(59_999), 'still under a minute: seconds only').toEqual({
      key: 'ui.data.upgrade_elapsed_s',
      params: { seconds: 59 },
    });
    expect(elapsedText(60_000), 'a minute: minutes and seconds').toEqual({
      key: 'ui.data.upgrade_elapsed_min',
      params: { minutes: 1, seconds: 0 },
    });
    expect(elapsedText(8 * 60_000 + 5_400), 'the ten-times shop takes about 8 minutes').toEqual({
      key: 'ui.data.upgrade_elapsed_min',
      params: { minutes: 8, seconds: 5 },
    });
    expect(elapsedText(-5), 'a clock that went back never shows a negative time').toEqual({
      key: 'ui.data.upgrade_elapsed_s',
      params: { seconds: 0 },
    });
  });
});
