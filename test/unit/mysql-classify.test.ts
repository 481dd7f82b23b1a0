/**
 * MySQL error classification (classify.ts): deadlocks and lock wait timeouts are retryable, a
 * duplicate key is a conflict, dropped connections are retryable, anything else is fatal; the
 * driver's code reaches the StoreError. Pure: no server needed.
 */
import { describe, expect, it } from 'vitest';
import { NotFoundError, StoreError } from '../../src/errors.js';
import { classifyMysqlError, mysqlErrorClass } from '../../src/store/mysql/classify.js';

/** An error shaped like mysql2's server errors. */
function serverError(errno: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { errno, code, sqlState: 'HY000' });
}

describe('mysql error classification', () => {
  it.each([
    [1213, 'ER_LOCK_DEADLOCK', 'retryable'],
    [1205, 'ER_LOCK_WAIT_TIMEOUT', 'retryable'],
    [1040, 'ER_CON_COUNT_ERROR', 'retryable'],
    [1062, 'ER_DUP_ENTRY', 'conflict'],
    [1146, 'ER_NO_SUCH_TABLE', 'fatal'],
    [1064, 'ER_PARSE_ERROR', 'fatal'],
    [1142, 'ER_TABLEACCESS_DENIED_ERROR', 'fatal'],
  ] as const)('server errno %i (%s) is %s', (errno, code, expected) => {
    const err = classifyMysqlError(serverError(errno, code, 'boom'));
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).errorClass).toBe(expected);
    expect((err as StoreError).driverCode).toBe(String(errno));
    expect(err.message).toContain(code);
  });

  it('dropped or refused connections are retryable, with their client code', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'EPIPE']) {
      const err = classifyMysqlError(Object.assign(new Error('gone'), { code, errno: -104 })) as StoreError;
      expect([code, err.errorClass, err.driverCode]).toEqual([code, 'retryable', code]);
    }
    expect(mysqlErrorClass(undefined, undefined, "Can't add new command when connection is in closed state")).toBe('retryable');
    expect(mysqlErrorClass(undefined, undefined, 'something else')).toBe('fatal');
  });

  it('passes FleetErrors through unchanged', () => {
    const notFound = new NotFoundError('x');
    expect(classifyMysqlError(notFound)).toBe(notFound);
  });
});
