// axe-core run inside the real window: the WCAG 2.1 A and AA rules a program can check, on the
// screen shown now. Shared by the accessibility suite and the tests of screens it cannot reach
// (the upgrade of an older file).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { browser, shot } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Wait until the screen has settled (no "loading" text, in either language), then run axe. */
export async function audit(name, { settle = 600 } = {}) {
  await browser.waitUntil(async () => browser.execute(() => !/Chargement…|Loading…/.test(document.body.innerText)), {
    timeout: 20_000,
    timeoutMsg: `${name} never finished loading`,
  });
  // Charts and lists that arrive after the first paint.
  await browser.pause(settle);
  // axe-core's own source, sent as the driver's script: the app's content security policy
  // (no eval) governs the page's scripts, not what the test driver runs.
  const loaded = await browser.execute(`if (!window.axe) { ${AXE}\n } return typeof window.axe;`);
  assert.equal(loaded, 'object', 'axe-core loaded into the page');
  const json = await browser.executeAsync(
    (tags, done) => {
      window.axe
        .run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
        .then((r) => done(JSON.stringify(r.violations.map((v) => ({
          rule: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), fix: n.failureSummary, html: n.html.slice(0, 160) })),
        })))))
        .catch((e) => done(JSON.stringify([{ rule: 'axe-error', help: String(e), nodes: [] }])));
    },
    TAGS,
  );
  const violations = JSON.parse(json);
  // A run that checked nothing (an empty page, axe failing to start) would pass silently.
  const checked = await browser.execute(() => document.querySelectorAll('main *').length);
  assert.ok(checked > 5, `${name}: the screen has content to check (${checked} elements)`);
  if (violations.length) await shot(`a11y-${name}`);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 1)}`);
}
