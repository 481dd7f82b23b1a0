/**
 * Conformance: replaying `step_events` reproduces every row (DESIGN §2). A seeded random mix of every
 * operation (submits with colliding keys, claims by three pods, fenced writes with stale refs,
 * releases, replays, cancels, heartbeats, pods dying, sweeps) runs against the store; each operation must
 * append exactly the events its outcome implies, and at the end the audit replay (replay.ts) must
 * match `stepGet` for every step. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import { ConflictError, PodFencedError } from '../../src/errors.js';
import type { ClaimRef, Store, StepEventKind } from '../../src/store/store.js';
import { STEP_EVENT_KINDS } from '../../src/store/store.js';
import { POD_A, POD_B, POD_C, POLICY, T0, freshStores, registerPod, seededRandom, testSeed } from './fixtures.js';
import { replayStepEvents } from './replay.js';
import type { StoreFactory } from './stores.js';

const OPERATIONS = 600;
const PODS = [POD_A, POD_B, POD_C];
const TYPES = ['echo', 'sleep'];

/** Reads the events appended since `afterEventId` and returns them with the new high-water mark. */
async function appendedSince(store: Store, afterEventId: number) {
  const events = await store.eventList({ afterEventId });
  return { kinds: events.map((e) => e.kind), last: events.length === 0 ? afterEventId : events[events.length - 1]!.eventId };
}

/**
 * DESIGN §3: a step starts at most `max_retries + 1 + release_count` times. Per episode (since the
 * last replay) this returns the largest `claims − releases`, which must not exceed `max_retries + 1`.
 */
function mostStartsPerEpisode(events: readonly { kind: StepEventKind }[]): number {
  let most = 0;
  let starts = 0;
  for (const { kind } of events) {
    if (kind === 'replayed') starts = 0;
    if (kind === 'claimed') starts++;
    if (kind === 'released') starts--;
    most = Math.max(most, starts);
  }
  return most;
}

/** Registers the randomized audit-replay case for `factory`. */
export function describeAuditReplay(factory: StoreFactory): void {
  describe('audit replay', () => {
    const open = freshStores(factory);

    it('reproduces status, claimed_by, attempt, retry_count and last_error of every step after a random mix', async () => {
      const seed = testSeed();
      onTestFailed(() => console.error(`audit replay failed with FLEET_Q_TEST_SEED=${seed}`));
      const random = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const int = (below: number) => Math.floor(random() * below);

      const { store } = await open();
      let now = T0;
      for (const pod of PODS) await registerPod(store, pod, now);
      const stepIds = new Set<string>();
      const refs: ClaimRef[] = [];
      let lastEventId = 0;

      /** Runs one operation and checks the kinds of the events it appended. */
      const checked = async (operation: () => Promise<readonly StepEventKind[] | ((kinds: StepEventKind[]) => void)>) => {
        const expected = await operation();
        const appended = await appendedSince(store, lastEventId);
        lastEventId = appended.last;
        if (typeof expected === 'function') expected(appended.kinds);
        else expect(appended.kinds).toEqual(expected);
      };
      const takeRef = (): ClaimRef | undefined => {
        if (refs.length === 0) return undefined;
        const ref = refs.splice(int(refs.length), 1)[0]!;
        // One write in ten names a wrong attempt, so fences are tested against live claims too.
        return random() < 0.1 ? { ...ref, attempt: ref.attempt + 1 } : ref;
      };
      const fencedKinds = (outcome: { applied: boolean; outcome: string }): StepEventKind[] =>
        outcome.applied ? [outcome.outcome as StepEventKind] : ['stale_write_rejected'];

      for (let i = 0; i < OPERATIONS; i++) {
        now += int(4_000) + (random() < 0.02 ? POLICY.deadPodThresholdMs : 0);
        const roll = random();
        if (roll < 0.25) {
          await checked(async () => {
            const key = random() < 0.3 ? `key-${int(6)}` : null;
            try {
              const r = await store.stepSubmit({
                type: pick(TYPES),
                args: { v: int(2) },
                priority: int(4),
                maxRetries: int(4),
                timeoutMs: 60_000,
                idempotencyKey: key,
                now,
              });
              const fresh = !stepIds.has(r.stepId);
              stepIds.add(r.stepId);
              expect(r.outcome).toBe(fresh ? 'submitted' : 'duplicate');
              return fresh ? ['submitted'] : [];
            } catch (err) {
              expect(err).toBeInstanceOf(ConflictError);
              return [];
            }
          });
        } else if (roll < 0.45) {
          const podId = pick(PODS);
          await checked(async () => {
            try {
              const rows = await store.stepClaim({ podId, types: random() < 0.8 ? TYPES : [pick(TYPES)], limit: 1 + int(3), now });
              refs.push(...rows.map((r) => ({ stepId: r.stepId, podId, attempt: r.attempt })));
              return rows.map((): StepEventKind => 'claimed');
            } catch (err) {
              expect(err).toBeInstanceOf(PodFencedError);
              await registerPod(store, podId, now);
              return [];
            }
          });
        } else if (roll < 0.58) {
          const ref = takeRef();
          if (ref) await checked(async () => fencedKinds(await store.stepComplete({ ...ref, result: { i }, now })));
        } else if (roll < 0.7) {
          const ref = takeRef();
          const fail = { error: `error ${i}`, retryable: random() < 0.8, reason: random() < 0.5 ? ('error' as const) : ('timeout' as const) };
          if (ref) await checked(async () => fencedKinds(await store.stepFail({ ...ref, ...fail, now })));
        } else if (roll < 0.76) {
          const ref = takeRef();
          if (ref) await checked(async () => fencedKinds(await store.stepRelease({ ...ref, reason: 'drain', now })));
        } else if (roll < 0.785) {
          // An operator cancels any step: pending or claimed → cancelled; terminal ones are refused.
          const ids = [...stepIds];
          if (ids.length > 0) {
            await checked(async () => {
              try {
                await store.stepCancel({ stepId: pick(ids), now });
                return ['cancelled'];
              } catch (err) {
                expect(err).toBeInstanceOf(ConflictError);
                return [];
              }
            });
          }
        } else if (roll < 0.82) {
          const { steps } = await store.dlqList({ limit: 20, offset: 0 });
          if (steps.length > 0) await checked(async () => (await store.stepReplay({ stepId: pick(steps).stepId, now }), ['replayed']));
        } else if (roll < 0.94) {
          const podId = pick(PODS);
          const beat = await store.podHeartbeat({ podId, now });
          if (!beat.ok) await registerPod(store, podId, now);
        } else if (roll < 0.98) {
          const dryRun = random() < 0.25;
          await checked(async () => {
            const summary = await store.recoverySweep({ podId: pick(PODS), dryRun, now });
            return (kinds: StepEventKind[]) => {
              expect(kinds).toHaveLength(dryRun ? 0 : summary.orphanedSteps.length);
              expect(kinds.filter((k) => k === 'recovered')).toHaveLength(dryRun ? 0 : summary.requeued.length);
            };
          });
        } else {
          await store.podMarkDown({ podId: pick(PODS), now });
        }
      }

      const events = await store.eventList({});
      const seen = new Set(events.map((e) => e.kind));
      expect(
        STEP_EVENT_KINDS.filter((kind) => !seen.has(kind)),
        'kinds the mix never produced',
      ).toEqual([]);
      const replayed = replayStepEvents(events);
      expect([...replayed.keys()].sort()).toEqual([...stepIds].sort());
      for (const stepId of stepIds) {
        const row = await store.stepGet({ stepId });
        expect(row).not.toBeNull();
        const { status, claimedBy, attempt, retryCount, lastError } = row!;
        expect({ stepId, status, claimedBy, attempt, retryCount, lastError }).toEqual({ stepId, ...replayed.get(stepId) });
        expect(mostStartsPerEpisode(events.filter((e) => e.stepId === stepId)), `starts of ${stepId}`).toBeLessThanOrEqual(row!.maxRetries + 1);
      }
    });
  });
}
