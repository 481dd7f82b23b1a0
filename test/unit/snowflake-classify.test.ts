/**
 * The Snowflake store's error classification (src/store/snowflake/classify.ts): lock waits, the
 * waiter limit and timeouts are retryable with a known outcome; network failures are retryable with
 * an unknown outcome; SQL compilation errors and anything unknown are fatal.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, StoreError } from '../../src/errors.js';
import { classifySnowflakeError, outcomeKnown, snowflakeErrorClass } from '../../src/store/snowflake/classify.js';

const sfError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('Snowflake error classification', () => {
  it.each([
    ['000625', 'Statement … was aborted because the number of waiters for this lock exceeds the 20 statements limit.'],
    ['000630', 'Statement reached its statement or warehouse timeout of 60 second(s) and was canceled.'],
    ['000604', 'SQL execution canceled'],
  ])('%s is retryable and certainly did not commit', (code, message) => {
    const err = classifySnowflakeError(sfError(code, message));
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).errorClass).toBe('retryable');
    expect(outcomeKnown(err)).toBe(true);
  });

  it.each(['401001', '401002', 'ECONNRESET', 'ETIMEDOUT'])('%s is retryable with an unknown outcome', (code) => {
    const err = classifySnowflakeError(sfError(code, 'network'));
    expect((err as StoreError).errorClass).toBe('retryable');
    expect(outcomeKnown(err)).toBe(false);
  });

  it('finds an errno in the cause chain', () => {
    const err = classifySnowflakeError(Object.assign(new Error('Request to Snowflake failed.'), { cause: { code: 'ECONNRESET' } }));
    expect(outcomeKnown(err)).toBe(false);
  });

  it('a lock message without a known code is retryable', () => {
    expect(snowflakeErrorClass(undefined, "Statement has locked table 'T' and this lock has not yet been released").errorClass).toBe('retryable');
  });

  it.each([
    ['001003', 'SQL compilation error: syntax error line 1 at position 0'],
    ['002003', "SQL compilation error: Object 'STEP_TRACKER' does not exist or not authorized."],
    ['000904', 'SQL compilation error: invalid identifier'],
  ])('%s is fatal', (code, message) => {
    const err = classifySnowflakeError(sfError(code, message));
    expect((err as StoreError).errorClass).toBe('fatal');
    expect((err as StoreError).driverCode).toBe(code);
  });

  it('keeps only the first line of a message, and passes FleetErrors through unchanged', () => {
    const err = classifySnowflakeError(sfError('001003', 'SQL compilation error\nSELECT secret_column FROM t'));
    expect(err.message).toBe('snowflake: SQL compilation error (001003)');
    const conflict = new ConflictError('taken');
    expect(classifySnowflakeError(conflict)).toBe(conflict);
  });
});
