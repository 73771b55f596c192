// Debian's Chromium through playwright-core (which never downloads a browser of its own), screenshots into
// target/web-screenshots/, axe-core injected from node_modules, and the phone-width overflow check.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname, '../../..');
export const SHOTS = join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'web-screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launch() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A context that records the page's console errors and failed requests, for messages when a test fails. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  context.problems = [];
  context.on('page', (page) => watch(page, context.problems));
  return context;
}

function watch(page, problems) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 500) problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
}

/** Saves target/web-screenshots/NAME.png (the whole page). */
export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Runs axe-core in the page; returns the serious and critical violations, one readable line each. */
export async function axe(page) {
  await page.addScriptTag({ path: require.resolve('axe-core') });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + (n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ')})` : '')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`);
}

/** Elements wider than the viewport (what makes a phone scroll sideways). */
export async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [];
    if (document.documentElement.scrollWidth > width + 1) {
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > width + 1 && getComputedStyle(el).position !== 'fixed') {
          // Report the outermost offender only.
          if (!wide.some((w) => w.el.contains(el))) wide.push({ el, right: Math.round(r.right) });
        }
      }
    }
    return {
      width,
      scrollWidth: document.documentElement.scrollWidth,
      wide: wide.slice(0, 8).map((w) => `${w.el.tagName.toLowerCase()}${w.el.id ? '#' + w.el.id : ''}${w.el.className && typeof w.el.className === 'string' ? '.' + w.el.className.trim().split(/\s+/).join('.') : ''} right=${w.right}`),
    };
  });
}
