/**
 * Operator routes (DESIGN §5): GET /admin/leader, GET /admin/queue, GET /admin/schedules,
 * POST /admin/recovery/run, GET /admin/dlq and POST /admin/dlq/:step_id/replay. Must not shape errors or bodies by hand.
 *
 * Recovery without a pod (an API process that only serves producers and operators): such a process
 * is never the leader, so the route answers 403 `not_leader` unless `force`; with `force` it runs
 * `store.recoverySweep` itself (harmless next to a leader's sweep: every recovery write is one
 * conditional statement), one sweep at a time per app (409 otherwise), recording no sweeper pod.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { dlqPage } from './dlq-page.js';
import { recoveryBodySchema } from './schemas.js';
import { ConflictError, FleetError, ValidationError } from '../errors.js';
import type { RecoveryRun } from '../pod/control.js';
import type { Store } from '../store/store.js';
import { dlqView, leaderView, queueView, recoveryView, replayView, schedulesView } from './views.js';
import { reportSchedules } from '../schedules/report.js';
import type { AppDeps } from './app.js';

/** Registers the operator routes on `app`. */
export function registerAdminRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, pod } = deps;
  const runRecovery = pod === undefined ? podlessRecovery(store) : pod.runRecovery.bind(pod);

  app.get('/admin/leader', async () => leaderView(await store.leaderGet()));

  app.get('/admin/queue', async () => {
    const [stats, age] = await Promise.all([store.queueStats(), store.queueAge()]);
    return queueView(stats, age);
  });

  app.get('/admin/schedules', async () => {
    const schedules = deps.schedules ?? [];
    // The database's time, as the leader's rounds use it (one read; the store has no bare clock call).
    const { checkedAt } = await store.leaderGet();
    return schedulesView(checkedAt, await reportSchedules(store, schedules, checkedAt));
  });

  app.post('/admin/recovery/run', async (request) => {
    // No body (or an empty one) means `{}`; a JSON `null` is a body, and not an object.
    const body = recoveryBodySchema.safeParse(request.body === undefined ? {} : request.body);
    if (!body.success) {
      const errors = body.error.issues.flatMap((i) =>
        i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ loc: k, msg: 'unknown field' })) : [{ loc: i.path.join('.') || 'body', msg: i.message }],
      );
      throw new ValidationError('invalid recovery request; expected { force?: boolean, dry_run?: boolean }', errors);
    }
    const run = await runRecovery({ force: body.data.force ?? false, dryRun: body.data.dry_run ?? false, requestId: request.id });
    return recoveryView(run);
  });

  app.get<{ Querystring: { limit?: string; offset?: string } }>('/admin/dlq', async (request) => {
    // `?limit=` is a value, and not an integer (the CLI's unset flags reach dlqPage as '' instead).
    const { limit, offset } = request.query;
    const page = dlqPage({ limit: limit === '' ? 'empty' : limit, offset: offset === '' ? 'empty' : offset });
    return dlqView(await store.dlqList(page));
  });

  app.post<{ Params: { step_id: string } }>('/admin/dlq/:step_id/replay', async (request) => {
    return replayView(await store.stepReplay({ stepId: request.params.step_id }));
  });
}

/** The sweep of an app that runs no pod: forced only, one at a time. */
function podlessRecovery(store: Store): (options: { force: boolean; dryRun: boolean; requestId?: string }) => Promise<RecoveryRun> {
  let running = false;
  return async ({ force, dryRun }) => {
    if (!force) {
      throw new FleetError('not_leader', 'this process runs no pod, so it never leads recovery; send { "force": true } to sweep from here');
    }
    if (running) throw new ConflictError('a recovery sweep is already running in this process');
    running = true;
    try {
      return { cycleId: randomUUID(), summary: await store.recoverySweep({ dryRun }) };
    } finally {
      running = false;
    }
  };
}
