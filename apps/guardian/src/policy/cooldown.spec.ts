import { MemoryCooldownGate } from './cooldown';
import { ManualClock } from '../spec-support';

describe('MemoryCooldownGate', () => {
  it('admits one caller per key per window', async () => {
    const clock = new ManualClock(0);
    const gate = new MemoryCooldownGate(clock.now);
    expect(await gate.tryAcquire('sandbox:a', 1_000)).toBe(true);
    expect(await gate.tryAcquire('sandbox:a', 1_000)).toBe(false);
    expect(await gate.tryAcquire('sandbox:b', 1_000)).toBe(true);
    clock.advance(999);
    expect(await gate.tryAcquire('sandbox:a', 1_000)).toBe(false);
    clock.advance(1);
    expect(await gate.tryAcquire('sandbox:a', 1_000)).toBe(true);
  });

  it('frees a window on release', async () => {
    const gate = new MemoryCooldownGate(() => 0);
    await gate.tryAcquire('k', 1_000);
    await gate.release('k');
    expect(await gate.tryAcquire('k', 1_000)).toBe(true);
  });

  it('keeps live windows when it prunes expired ones at maxKeys', async () => {
    const clock = new ManualClock(0);
    const gate = new MemoryCooldownGate(clock.now, 2);
    await gate.tryAcquire('a', 10);
    await gate.tryAcquire('b', 100);
    clock.advance(50);
    expect(await gate.tryAcquire('c', 10)).toBe(true);
    expect(await gate.tryAcquire('b', 10)).toBe(false);
    expect(await gate.tryAcquire('a', 10)).toBe(true);
  });
});
