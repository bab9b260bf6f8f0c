import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { isStoreUnavailable, isUniqueViolation, toStoreError } from './store-errors';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('store error vocabulary', () => {
  it.each([
    withCode('ECONNREFUSED'),
    withCode('08006'),
    withCode('57P01', 'terminating connection due to administrator command'),
    withCode('53300', 'too many connections'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Connection terminated unexpectedly'),
    withCode('P1001', "Can't reach database server"),
    withCode('P2024', 'Timed out fetching a new connection from the connection pool'),
  ])('treats %s as unavailable', (error) => {
    expect(isStoreUnavailable(error)).toBe(true);
    expect(toStoreError(error)).toBeInstanceOf(ServiceUnavailableError);
  });

  it.each([
    withCode('22P05', 'unsupported Unicode escape sequence'),
    withCode('23505'),
    new Error('syntax error'),
    'text',
    null,
  ])('leaves %s as it is', (error) => {
    expect(isStoreUnavailable(error)).toBe(false);
    expect(toStoreError(error)).toBe(error);
  });

  it('recognises unique violations from Prisma and from pg', () => {
    expect(isUniqueViolation({ code: 'P2002' })).toBe(true);
    expect(isUniqueViolation(withCode('23505'))).toBe(true);
    expect(isUniqueViolation(withCode('23503'))).toBe(false);
  });
});
