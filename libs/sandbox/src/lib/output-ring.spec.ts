import { OutputRing } from './output-ring';

describe('OutputRing', () => {
  it('keeps everything below the limit, in order', () => {
    const ring = new OutputRing(64);
    ring.write('hello ');
    ring.write(Buffer.from('world'));
    expect(ring.toString()).toBe('hello world');
    expect(ring.droppedBytes).toBe(0);
  });

  it('drops the oldest bytes once full, cutting inside a chunk when needed', () => {
    const ring = new OutputRing(10);
    ring.write('0123456789');
    ring.write('abcd');
    expect(ring.toString()).toBe('456789abcd');
    ring.write('x'.repeat(25) + 'END');
    expect(ring.toString()).toBe('xxxxxxxEND');
    expect(ring.droppedBytes).toBe(4 + 10 + 18);
  });

  it('rejects a non-positive limit', () => {
    expect(() => new OutputRing(0)).toThrow(RangeError);
  });
});
