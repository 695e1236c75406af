// The browser half of loadtest/uibench: loads the topology and the big trace RUNS times each,
// every time in a fresh context (nothing cached) and then once more in that context (cached),
// and prints one JSON line per page with the render times the app records (data-render-ms: ms
// since navigation start when the graph or the waterfall is first drawn).
import { launch, watch } from './chromium.mjs';

const base = process.env.FAULTLINE_URL;
const traceId = process.env.TRACE_ID;
const runs = Number(process.env.RUNS ?? 5);
if (!base || !traceId) {
  console.error('FAULTLINE_URL and TRACE_ID are required');
  process.exit(2);
}

const pages = [
  { page: 'topology', path: '/?from=now-15m', sel: '[data-testid="topology-graph"]', count: 'data-nodes' },
  { page: 'trace', path: `/traces/${traceId}`, sel: '[data-testid="waterfall"]', count: 'data-spans' },
];

const { browser, close } = await launch();
try {
  for (const p of pages) {
    const result = { page: p.page, elements: 0, render_ms: [], warm_ms: [] };
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const problems = [];
      watch(page, problems);
      await page.goto(base + p.path);
      const el = page.locator(`${p.sel}[data-rendered="true"]`);
      await el.waitFor({ timeout: 60_000 });
      result.render_ms.push(Number(await el.getAttribute('data-render-ms')));
      result.elements = Number(await el.getAttribute(p.count));
      if (process.env.DEBUG) {
        // Where the time went: the app's performance marks and the requests.
        const t = await page.evaluate(() => [
          ...performance.getEntriesByType('mark').map((m) => `${m.name}=${Math.round(m.startTime)}`),
          ...performance.getEntriesByType('resource').map((r) => `${r.name.replace(location.origin, '')} ${Math.round(r.startTime)}..${Math.round(r.responseEnd)}`),
          `dcl=${Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)}`,
        ]);
        console.error(p.page, t.join('\n  '));
      }
      // The same page again in the same context: what a returning user sees (assets from the
      // HTTP cache, their compiled code from V8's cache).
      await page.reload();
      await page.locator(`${p.sel}[data-rendered="true"]`).waitFor({ timeout: 60_000 });
      result.warm_ms.push(Number(await page.locator(p.sel).getAttribute('data-render-ms')));
      if (problems.length > 0) throw new Error(`${p.page}: ${problems.join('; ')}`);
      await context.close();
    }
    console.log(JSON.stringify(result));
  }
} finally {
  await close();
}
