// The browser half of loadtest/e2e's TestWebUIInChromium: the Go test starts faultline and
// the simulator with a fault, then runs this against it. Every step asserts what an on-call
// engineer needs to see; a failed step exits 1 with the reason, and every page is saved as
// a screenshot in $ARTIFACTS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, watch } from './chromium.mjs';

const base = process.env.FAULTLINE_URL;
const artifacts = process.env.ARTIFACTS ?? '.';
const rootCause = process.env.ROOT_CAUSE;
const services = (process.env.SERVICES ?? '').split(',').filter(Boolean);
const hostile = process.env.HOSTILE;
const hostileTrace = process.env.HOSTILE_TRACE;
assert.ok(base && rootCause && hostile && hostileTrace, 'FAULTLINE_URL, ROOT_CAUSE, HOSTILE and HOSTILE_TRACE are required');

const { browser, close } = await launch();
const problems = [];
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
watch(page, problems);
page.setDefaultTimeout(30_000);

const steps = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    steps.push(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    steps.push(`FAIL ${name}: ${e.message}`);
    await page.screenshot({ path: join(artifacts, `failed-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    assert.deepEqual(problems, [], `on ${page.url()}`);
  }
}
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const attr = (sel, name) => page.locator(sel).first().getAttribute(name);
// Attribute selectors take any service name: CSS.escape-like quoting for a double-quoted value.
const q = (s) => JSON.stringify(s);

try {
  await step('topology shows the services and marks the root cause', async () => {
    await page.goto(`${base}/?from=now-15m`);
    await page.locator('[data-testid="topology-graph"][data-rendered="true"]').waitFor();
    for (const s of services) await page.locator(`[data-service=${q(s)}]`).first().waitFor();
    await page.locator(`[data-service=${q(rootCause)}][data-role="root-cause"]`).first().waitFor();
    const affected = await page.locator('[data-role="affected"]').count();
    assert.ok(affected >= 1, `affected services are marked (found ${affected})`);
    const banner = await page.locator('[data-testid="incident-banner"]').innerText();
    assert.match(banner, new RegExp(rootCause), 'the incident banner names the root cause');
    await shot('topology');
  });

  await step('dark theme and the service panel', async () => {
    await page.selectOption('select[aria-label="Theme"]', 'dark');
    await page.locator(`[data-service=${q(rootCause)}]`).first().click();
    await page.locator('[data-testid="service-panel"]').waitFor();
    assert.match(page.url(), /service=/, 'the open service is in the URL');
    await shot('topology-service-panel-dark');
    await page.keyboard.press('Escape');
    await page.selectOption('select[aria-label="Theme"]', 'light');
  });

  await step('an incident lists the root cause', async () => {
    await page.goto(`${base}/incidents?from=now-15m`);
    await page.getByText(rootCause, { exact: false }).first().waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /ongoing/i, 'the incident is ongoing');
    await shot('incidents');
  });

  let traceId = '';
  await step('a trace search finds an error trace and its timeline opens', async () => {
    await page.goto(`${base}/traces?status=error&service=frontend&from=now-15m`);
    const row = page.locator('[data-trace-id][data-error="true"]').first();
    await row.waitFor();
    traceId = await row.getAttribute('data-trace-id');
    await shot('traces');
    await row.locator('a').first().click();
    await page.waitForURL(new RegExp(`/traces/${traceId}`));
    await page.locator('[data-testid="waterfall"][data-rendered="true"]').waitFor();
    const spans = Number(await attr('[data-testid="waterfall"]', 'data-spans'));
    assert.ok(spans >= 6, `the chain's spans are drawn (${spans})`);
    const critical = await page.locator('[data-span-id][data-critical="true"]').count();
    assert.ok(critical >= 1, 'the critical path is marked');
    await page.locator('[data-span-id]').last().click();
    await page.locator('[data-testid="span-details"]').waitFor();
    await shot('trace');
  });

  await step("the trace's logs link to their trace", async () => {
    await page.locator('[data-testid="trace-logs-link"]').click();
    await page.waitForURL(/\/logs\?/);
    assert.match(page.url(), new RegExp(`trace_id=${traceId}`));
    await page.locator('[data-testid="log-row"]').first().waitFor();
    await shot('logs-of-trace');
    // Lines at least 10 s old: the simulator's logs can arrive before the spans of their trace
    // (each SDK batches on its own), and the newest line's trace may not be stored yet.
    await page.goto(`${base}/logs?severity=error&from=now-15m&to=now-10s`);
    await page.locator('[data-testid="log-row"]').first().waitFor();
    await shot('logs');
    const link = page.locator('[data-testid="log-trace-link"]').first();
    const href = await link.getAttribute('href');
    await link.click();
    await page.waitForURL((u) => u.pathname.startsWith('/traces/') && href.includes(u.pathname));
    await page.locator('[data-testid="waterfall"][data-rendered="true"]').waitFor();
  });

  await step('hosts and alerts pages render', async () => {
    await page.goto(`${base}/hosts?from=now-15m`);
    await page.locator('[data-host]').first().waitFor();
    await shot('hosts');
    // The local agent's host (faultline runs one): the hosts seen only in spans have no charts.
    const host = await attr('[data-host][data-agent="true"]', 'data-host');
    await page.goto(`${base}/hosts/${encodeURIComponent(host)}?from=now-15m`);
    await page.locator('.chart').first().waitFor();
    await shot('host');
    await page.goto(`${base}/alerts`);
    await page.getByText('FaultlineIncident').first().waitFor();
    await shot('alerts');
  });

  await step('hostile names, attributes and log lines are shown as text', async () => {
    const noInjectedMarkup = async () => {
      const n = await page.evaluate(() => document.querySelectorAll('main img[src="x"], main script').length);
      assert.equal(n, 0, 'no element was created from the payload');
    };
    await page.goto(`${base}/?from=now-15m`);
    await page.locator(`[data-service=${q(hostile)}]`).first().waitFor();
    await page.locator(`[data-service=${q(hostile)}]`).first().click();
    await page.locator('[data-testid="service-panel"]').waitFor();
    await noInjectedMarkup();
    await page.goto(`${base}/traces/${hostileTrace}`);
    await page.locator('[data-testid="waterfall"][data-rendered="true"]').waitFor();
    await page.locator('[data-span-id]').first().click();
    await page.locator('[data-testid="span-details"]').getByText(`<script>alert(1)</script>${hostile}`).waitFor();
    await noInjectedMarkup();
    await page.goto(`${base}/logs?trace_id=${hostileTrace}&from=now-15m`);
    await page.locator('[data-testid="log-row"]').getByText(hostile, { exact: false }).first().waitFor();
    await noInjectedMarkup();
    await page.goto(`${base}/traces?service=${encodeURIComponent(hostile)}&from=now-15m`);
    await page.locator(`[data-trace-id=${q(hostileTrace)}]`).waitFor();
    await noInjectedMarkup();
    await shot('hostile-text');
  });
} finally {
  console.log(steps.join('\n'));
  await close();
}
