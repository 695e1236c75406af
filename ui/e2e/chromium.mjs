// Debian's Chromium driven by playwright-core (no browser download): the flags keep it off
// the network, which this machine and CI do not have.
import { chromium } from 'playwright-core';

export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Playwright gives every launch a new empty profile of its own (and removes it on close).
export async function launch() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const close = () => browser.close();
  return { browser, close };
}

/**
 * watch fails the run on what must never happen on any page: a JavaScript dialog (the hostile
 * payloads call alert), an uncaught exception, or an error in the console.
 */
export function watch(page, problems) {
  page.on('dialog', async (d) => {
    problems.push(`a ${d.type()} dialog opened: ${d.message()} (script ran)`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
}
