import { EventHistoryQuery } from './events.schema';
import { EventId } from './ids';
import { MessageDrainQuery } from './messages.schema';

/**
 * Regression (found by the fuzz suite): `since=9223372036854775808` passed the 19-digit pattern and
 * reached Postgres as a bigint it cannot hold, which failed the query: GET …/messages answered 500.
 */
describe('EventId', () => {
  it('accepts every Postgres bigint id and refuses what does not fit', () => {
    for (const id of ['0', '1', '9223372036854775807', '1000000000000000000'])
      expect(EventId.safeParse(id).success).toBe(true);
    const refused = [
      '9223372036854775808',
      '9999999999999999999',
      '18446744073709551616',
      '-1',
      '01',
      '1.5',
      '',
      '\u0000𐀀',
      ',,,',
      'x'.repeat(19),
      '１２３',
    ];
    for (const id of refused) expect(EventId.safeParse(id).success).toBe(false);
  });

  it('refuses an out-of-range cursor in every query that takes one', () => {
    expect(MessageDrainQuery.safeParse({ since: '9223372036854775808' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ after: '9223372036854775808' }).success).toBe(false);
  });
});
