/**
 * Submitting to MySQL: checks and serialises a batch (one submit is a batch of one), then, in one
 * transaction, locks the steps already holding any of its idempotency keys, decides each item's
 * outcome (duplicate, conflict, new) and inserts the new steps and their `submitted` events in
 * multi-row INSERTs of bounded size. Owns the idempotency outcome of each item; must not decide
 * defaults (callers resolve maxRetries and timeoutMs) or args schemas.
 *
 * A key committed by another producer after our look-up fails the unique index (1062); the
 * transaction is rolled back and the driver runs the whole submit again, which then sees that row.
 */
import { ConflictError, ValidationError, type FleetErrorItem } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { canonicalJson } from '../json.js';
import { assertNoDuplicateKeys, submissionProblems } from '../submission-checks.js';
import type { Json, StepSubmitParams, StepSubmitResult } from '../store.js';
import { run, type Connection } from './connection.js';
import { insertEvents, readClock, type MysqlContext } from './context.js';
import { MAX_IDEMPOTENCY_KEY_BYTES } from './migrations.js';
import { keyText } from './rows.js';
import { gateOf, parentIds, type ResolvedParent } from '../workflow.js';
import { insertEdges, parentStatuses } from './workflow.js';

type Submission = Omit<StepSubmitParams, 'now'>;

/** One checked item, serialised. */
export interface PreparedItem {
  readonly type: string;
  readonly argsJson: string;
  readonly argsCanonical: string;
  readonly metadataJson: string;
  readonly priority: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly key: string | null;
  readonly delayMs: number;
  readonly deadline: number | null;
}

/**
 * A statement's packet must stay under the server's `max_allowed_packet` (16 MiB by default on
 * MariaDB, 64 MiB on MySQL 8): rows are sent in INSERTs of at most this many bytes of JSON, and
 * key look-ups in lists of at most KEY_CHUNK pairs.
 */
const INSERT_CHUNK_BYTES = 2 * 1024 * 1024;
const KEY_CHUNK = 1000;

/** Checks every item (a ValidationError lists each problem by index) and serialises them. */
export function prepareItems(steps: readonly Submission[]): PreparedItem[] {
  const problems: FleetErrorItem[] = [];
  const prepared: PreparedItem[] = [];
  steps.forEach((s, i) => {
    const argsJson = JSON.stringify(s.args ?? null);
    const metadataJson = JSON.stringify(s.metadata ?? {});
    const itemProblems = submissionProblems(s, argsJson, metadataJson);
    const key = s.idempotencyKey ?? null;
    if (typeof key === 'string' && Buffer.byteLength(key, 'utf8') > MAX_IDEMPOTENCY_KEY_BYTES) {
      itemProblems.push({ loc: 'idempotencyKey', msg: `must be at most ${MAX_IDEMPOTENCY_KEY_BYTES} bytes` });
    }
    problems.push(...itemProblems.map((p) => ({ loc: String(i), msg: `${p.loc}: ${p.msg}` })));
    if (itemProblems.length > 0) return;
    prepared.push({
      type: s.type,
      argsJson,
      argsCanonical: canonicalJson(s.args ?? null),
      metadataJson,
      priority: s.priority ?? 0,
      maxRetries: s.maxRetries,
      timeoutMs: s.timeoutMs,
      key,
      delayMs: s.delayMs ?? 0,
      deadline: s.deadline ?? null,
    });
  });
  if (problems.length > 0) throw new ValidationError('invalid steps', problems);
  assertNoDuplicateKeys(steps);
  return prepared;
}

/**
 * Submits the prepared items all or none inside the caller's transaction; results in input order.
 * Throws `ConflictError` (the caller rolls back) when an item's key is taken by different args.
 */
export async function insertItems(
  connection: Connection,
  ctx: MysqlContext,
  items: readonly PreparedItem[],
  nowParam: number | undefined,
  resolved: readonly ResolvedParent[][] = [],
  inBatch = true,
): Promise<StepSubmitResult[]> {
  if (items.length === 0) return [];
  const now = await readClock(connection, ctx, nowParam);
  const existing = await existingKeys(connection, ctx, items);
  const conflicts: string[] = [];
  const results: (StepSubmitResult | undefined)[] = items.map((item, i) => {
    if (item.key === null) return undefined;
    const found = existing.get(JSON.stringify([item.type, item.key]));
    if (found === undefined) return undefined;
    if (canonicalJson(JSON.parse(found.args) as Json) === item.argsCanonical) return { stepId: found.stepId, outcome: 'duplicate' };
    const label = items.length > 1 ? `item ${i}: ` : '';
    conflicts.push(`${label}step ${found.stepId} of type '${item.type}' already uses idempotency key '${item.key}' with different args`);
    return undefined;
  });
  if (conflicts.length > 0) throw new ConflictError(conflicts.join('; '));
  const fresh = items.map((_, i) => i).filter((i) => results[i] === undefined);
  const ids = fresh.map(() => newStepId(now));
  fresh.forEach((i, k) => (results[i] = { stepId: ids[k]!, outcome: 'submitted' }));
  // Parents by id, once every item has one; the gate of each new item counts its parents not completed.
  const earlier: string[] = [];
  const parentsOf = items.map((_, i) => {
    const parents = parentIds(resolved[i] ?? [], earlier);
    earlier.push(results[i]!.stepId);
    return parents;
  });
  const freshIds = new Set(ids);
  const statuses = await parentStatuses(connection, ctx, [...new Set(fresh.flatMap((i) => parentsOf[i]!))], freshIds);
  const gates = fresh.map((i) => gateOf(parentsOf[i]!, statuses, inBatch ? i : null));
  const rows = fresh.map((i, k) => {
    const it = items[i]!;
    return [
      ids[k]!,
      it.type,
      it.argsJson,
      it.metadataJson,
      it.priority,
      'pending',
      0,
      0,
      it.maxRetries,
      0,
      now + it.delayMs,
      it.timeoutMs,
      it.key,
      now,
      now,
      it.deadline,
      JSON.stringify(parentsOf[i]!),
      gates[k]!,
    ];
  });
  for (const chunk of byteChunks(rows, (row) => (row[2] as string).length + (row[3] as string).length + 200)) {
    await run(connection, ctx.sql.stepInsert, [chunk]);
  }
  await insertEdges(
    connection,
    ctx,
    fresh.flatMap((i, k) => parentsOf[i]!.map((p) => [ids[k]!, p] as const)),
  );
  await insertEvents(
    connection,
    ctx,
    fresh.map((i, k) => ({
      stepId: ids[k]!,
      ts: now,
      kind: 'submitted' as const,
      podId: null,
      attempt: 0,
      detail: {
        priority: items[i]!.priority,
        max_retries: items[i]!.maxRetries,
        ...(items[i]!.deadline === null ? {} : { deadline: items[i]!.deadline }),
      },
    })),
  );
  return results as StepSubmitResult[];
}

/** Steps holding any of the items' `(type, key)` pairs, locked, keyed by `JSON.stringify([type, key])`. */
async function existingKeys(connection: Connection, ctx: MysqlContext, items: readonly PreparedItem[]): Promise<Map<string, { stepId: string; args: string }>> {
  const pairs = items.filter((i) => i.key !== null).map((i) => [i.type, Buffer.from(i.key!, 'utf8')]);
  const found = new Map<string, { stepId: string; args: string }>();
  for (let start = 0; start < pairs.length; start += KEY_CHUNK) {
    const rows = await run<{ step_id: string; type: string; idempotency_key: Buffer | string; args: string }>(connection, ctx.sql.stepFindByKeys, [
      pairs.slice(start, start + KEY_CHUNK),
    ]);
    for (const r of rows) found.set(JSON.stringify([r.type, keyText(r.idempotency_key)]), { stepId: r.step_id, args: r.args });
  }
  return found;
}

/** Splits rows into runs whose estimated size stays under INSERT_CHUNK_BYTES (each run has at least one row). */
function byteChunks<T>(rows: readonly T[], size: (row: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const rowBytes = size(row);
    if (current.length > 0 && bytes + rowBytes > INSERT_CHUNK_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += rowBytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
