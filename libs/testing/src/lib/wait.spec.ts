import { waitFor } from './wait';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? `done after ${calls}` : false), 'three calls', 1_000, 1)).resolves.toBe(
      'done after 3',
    );
  });

  it('names what it waited for when the deadline passes', async () => {
    await expect(waitFor(() => false, 'the impossible', 30, 5)).rejects.toThrow(
      'timed out after 30 ms waiting for the impossible',
    );
  });
});
