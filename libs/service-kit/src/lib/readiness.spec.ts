import { metricsRegistry } from './metrics';
import { Readiness } from './readiness';

/** `relay_ready` as scraped (summed over this process's Readiness objects, hence the differences below). */
async function scrapedReady(): Promise<number> {
  const [metric] = (await metricsRegistry.getMetricsAsJSON()).filter((m) => m.name === 'relay_ready');
  return metric?.values.reduce((sum, { value }) => sum + value, 0) ?? Number.NaN;
}

describe('relay_ready', () => {
  it('is 1 only while ready and the last probe passed: 0 starting, 0 after a failed check, 1 again, 0 draining', async () => {
    let healthy = true;
    const readiness = new Readiness(100).add({
      name: 'dep',
      check: async () => {
        if (!healthy) throw new Error('down');
      },
    });
    const base = await scrapedReady();
    expect(base).not.toBeNaN();
    readiness.markReady();
    expect(await scrapedReady()).toBe(base + 1);
    healthy = false;
    expect((await readiness.report()).status).toBe('unavailable');
    expect(await scrapedReady()).toBe(base);
    healthy = true;
    await readiness.report();
    expect(await scrapedReady()).toBe(base + 1);
    readiness.markDraining();
    expect(await scrapedReady()).toBe(base);
  });
});
