/**
 * Classification of PostgreSQL failures (classify.ts): SQLSTATE, socket errno and code-less client
 * messages to retryable | conflict | fatal; and the same classes on errors a real server raises.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, StoreError } from '../../src/errors.js';
import { classifyPgError, constraintOf, pgErrorClass } from '../../src/store/postgres/classify.js';
import { withClient } from '../support/postgres.js';
import { pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();

/** An error shaped like the ones `pg` throws. */
function pgError(message: string, fields: { code?: string; constraint?: string } = {}): Error {
  return Object.assign(new Error(message), fields);
}

describe('pgErrorClass', () => {
  it.each([
    ['57P01', 'admin_shutdown'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now'],
    ['08000', 'connection_exception'],
    ['08003', 'connection_does_not_exist'],
    ['08006', 'connection_failure'],
    ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
    ['40001', 'serialization_failure'],
    ['40P01', 'deadlock_detected'],
    ['53300', 'too_many_connections'],
    ['57014', 'query_canceled (statement_timeout)'],
    ['55P03', 'lock_not_available (lock_timeout)'],
    ['ECONNREFUSED', 'socket'],
    ['ECONNRESET', 'socket'],
    ['ETIMEDOUT', 'socket'],
    ['EPIPE', 'socket'],
  ])('%s (%s) is retryable', (code) => {
    expect(pgErrorClass(code)).toBe('retryable');
  });

  it('23505 unique_violation is a conflict', () => {
    expect(pgErrorClass('23505')).toBe('conflict');
  });

  it.each([
    ['42P01', 'undefined_table'],
    ['42601', 'syntax_error'],
    ['23514', 'check_violation'],
    ['22P02', 'invalid_text_representation'],
    ['28P01', 'invalid_password'],
    ['3D000', 'invalid_catalog_name'],
    ['53100', 'disk_full'],
    ['42501', 'insufficient_privilege'],
    ['EACCES', 'socket, not transient'],
  ])('%s (%s) is fatal', (code) => {
    expect(pgErrorClass(code)).toBe('fatal');
  });

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated',
    'Client has encountered a connection error and is not queryable',
    'timeout exceeded when trying to connect',
    'Query read timeout',
    'connection timeout',
  ])('the code-less client failure "%s" is retryable', (message) => {
    expect(pgErrorClass(undefined, message)).toBe('retryable');
  });

  it('an unknown code-less failure is fatal', () => {
    expect(pgErrorClass(undefined, 'Cannot use a pool after calling end on the pool')).toBe('fatal');
  });
});

describe('classifyPgError', () => {
  it('wraps a driver error in a StoreError with its class, code, constraint and cause', () => {
    const cause = pgError('duplicate key value violates unique constraint "st_idem_ux"', { code: '23505', constraint: 'st_idem_ux' });
    const error = classifyPgError(cause);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ errorClass: 'conflict', driverCode: '23505', code: 'database_error' });
    expect(error.message).toContain('st_idem_ux');
    expect(error.cause).toBe(cause);
    expect(constraintOf(error)).toBe('st_idem_ux');
  });

  it('passes FleetErrors through unchanged', () => {
    const notFound = new NotFoundError('x');
    const conflict = new ConflictError('y');
    const store = new StoreError('retryable', 'z');
    expect(classifyPgError(notFound)).toBe(notFound);
    expect(classifyPgError(conflict)).toBe(conflict);
    expect(classifyPgError(store)).toBe(store);
  });

  it('classifies non-Error throws as fatal', () => {
    expect(classifyPgError('boom')).toMatchObject({ errorClass: 'fatal', driverCode: undefined });
  });
});

describe('classification of real server errors', () => {
  it('unique violation → conflict, undefined table → fatal, terminated session → retryable', async () => {
    const db = await database();
    const caught = await withClient(db.baseUrl, async (c) => {
      const errors: unknown[] = [];
      const attempt = async (text: string) =>
        c.query(text).then(
          () => errors.push(undefined),
          (err: unknown) => errors.push(err),
        );
      await attempt(`CREATE TABLE "${db.schema}".u (k int PRIMARY KEY); INSERT INTO "${db.schema}".u VALUES (1)`);
      await attempt(`INSERT INTO "${db.schema}".u VALUES (1)`);
      await attempt(`SELECT * FROM "${db.schema}".no_such_table`);
      return errors;
    });
    expect(caught[0]).toBeUndefined();
    expect(classifyPgError(caught[1])).toMatchObject({ errorClass: 'conflict', driverCode: '23505' });
    expect(classifyPgError(caught[2])).toMatchObject({ errorClass: 'fatal', driverCode: '42P01' });

    const terminated = await withClient(db.baseUrl, async (victim) => {
      victim.on('error', () => undefined);
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const running = victim.query('SELECT pg_sleep(10)').then(
        () => undefined,
        (err: unknown) => err,
      );
      await withClient(db.baseUrl, (killer) => killer.query('SELECT pg_terminate_backend($1)', [pid]));
      return running;
    });
    expect(classifyPgError(terminated)).toMatchObject({ errorClass: 'retryable', driverCode: '57P01' });
  });
});
