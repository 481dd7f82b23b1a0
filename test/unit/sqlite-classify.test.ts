/**
 * Classification of better-sqlite3 failures into StoreError classes, on errors produced by a real
 * SQLite file rather than hand-made objects wherever SQLite can produce them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, StoreError } from '../../src/errors.js';
import { classifySqliteError, sqliteErrorClass } from '../../src/store/sqlite/classify.js';

let dir: string;
const dbs: Database.Database[] = [];

function open(): Database.Database {
  const db = new Database(join(dir, 'c.db'), { timeout: 0 });
  dbs.push(db);
  return db;
}

/** What `fn` threw, classified. */
function classified(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    return classifySqliteError(err);
  }
  throw new Error('expected a throw');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-classify-'));
  open().exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INTEGER CHECK (n >= 0))`);
});

afterEach(async () => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('errors from a real file', () => {
  it('SQLITE_BUSY (another connection holds the write lock) is retryable', () => {
    const a = open();
    const b = open();
    a.exec('BEGIN IMMEDIATE');
    const error = classified(() => b.exec('BEGIN IMMEDIATE'));
    a.exec('ROLLBACK');
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ errorClass: 'retryable', driverCode: 'SQLITE_BUSY', code: 'database_error' });
  });

  it('a unique index violation is a conflict', () => {
    const db = open();
    db.exec(`INSERT INTO t (k, n) VALUES ('a', 1)`);
    expect(classified(() => db.exec(`INSERT INTO t (k, n) VALUES ('a', 2)`))).toMatchObject({
      errorClass: 'conflict',
      driverCode: 'SQLITE_CONSTRAINT_UNIQUE',
    });
  });

  it('a CHECK violation, a syntax error and a closed connection are fatal', () => {
    const db = open();
    expect(classified(() => db.exec(`INSERT INTO t (k, n) VALUES ('b', -1)`))).toMatchObject({
      errorClass: 'fatal',
      driverCode: 'SQLITE_CONSTRAINT_CHECK',
    });
    expect(classified(() => db.exec(`SELEC 1`))).toMatchObject({ errorClass: 'fatal', driverCode: 'SQLITE_ERROR' });
    db.close();
    const closed = classified(() => db.prepare('SELECT 1'));
    expect(closed).toMatchObject({ errorClass: 'fatal', driverCode: undefined });
    expect((closed as StoreError).cause).toBeInstanceOf(TypeError);
  });
});

describe('codes and pass-through', () => {
  it('maps the BUSY and LOCKED families to retryable and unknown codes to fatal', () => {
    expect(sqliteErrorClass('SQLITE_BUSY_SNAPSHOT')).toBe('retryable');
    expect(sqliteErrorClass('SQLITE_LOCKED')).toBe('retryable');
    expect(sqliteErrorClass('SQLITE_LOCKED_SHAREDCACHE')).toBe('retryable');
    expect(sqliteErrorClass('SQLITE_CONSTRAINT_PRIMARYKEY')).toBe('conflict');
    expect(sqliteErrorClass('SQLITE_CONSTRAINT_NOTNULL')).toBe('fatal');
    expect(sqliteErrorClass('SQLITE_FULL')).toBe('fatal');
    expect(sqliteErrorClass(undefined)).toBe('fatal');
  });

  it('passes FleetErrors through unchanged', () => {
    const conflict = new ConflictError('taken');
    expect(classifySqliteError(conflict)).toBe(conflict);
    const store = new StoreError('retryable', 'busy');
    expect(classifySqliteError(store)).toBe(store);
  });
});
