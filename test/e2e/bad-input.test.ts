/**
 * End to end, refusing bad input: `fleet-q start` with an invalid configuration exits 2 naming every
 * bad variable and touches no database; a running pod answers malformed or invalid requests with the
 * documented error body (DESIGN §5) and changes nothing — the queue counts and the number of
 * `step_events` rows are the same before and after. SQLite.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sqliteQueue } from './database.js';
import { cleanEnv, HANDLERS, startPod, useE2eSuite, withQueue } from './harness.js';
import { getJson, postJson, postRaw, runCli, submitStep, type HttpAnswer } from './http.js';
import { TIMING_ENV } from './timing.js';
import { waitFor } from '../support/wait.js';

const suite = useE2eSuite();

/** The error body every route uses, for `path`. */
function errorBody(errorType: string, path: string): Record<string, unknown> {
  return { detail: expect.any(String), error_type: errorType, timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/), path };
}

function locs(answer: HttpAnswer): string[] {
  return ((answer.body?.errors ?? []) as { loc: string }[]).map((e) => e.loc);
}

describe('bad input', () => {
  it('an invalid configuration: fleet-q start exits 2 naming both variables, and opens no database', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const run = await runCli(suite.cli, ['start'], {
        cwd: queue.dir,
        env: { ...cleanEnv(), ...TIMING_ENV, ...queue.env, FLEET_Q_HANDLERS: HANDLERS, FLEET_Q_MAX_PARALLELISM: 'abc', FLEET_Q_CAPACITY_THRESHOLD: '2' },
        timeoutMs: 20_000,
      });
      expect(run).toMatchObject({ code: 2, signal: null, stdout: '' });
      expect(run.stderr).toContain('FLEET_Q_MAX_PARALLELISM');
      expect(run.stderr).toContain('FLEET_Q_CAPACITY_THRESHOLD');
      expect(existsSync(queue.env['FLEET_Q_SQLITE_DB_PATH']!)).toBe(false);
    });
  }, 30_000);

  it('malformed and invalid requests get 400/404/413 with the error body, and change nothing', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const pod = await startPod({ cli: suite.cli, queue, name: 'e2e-input' });
      const reader = await queue.openReader();
      const done = await submitStep(pod.baseUrl, { type: 'echo', args: { ok: true } });
      await waitFor('the echo step to complete', async () => (await reader.stepGet({ stepId: done }))?.status === 'completed', { timeoutMs: 20_000 });
      const snapshot = async () => ({ queue: (await getJson(pod.baseUrl, '/admin/queue')).body, events: (await reader.eventList({})).length });
      const before = await snapshot();
      expect(before.queue).toMatchObject({ pending_steps: 0, claimed_steps: 0, completed_steps: 1, failed_steps: 0 });

      const badJson = await postRaw(pod.baseUrl, '/submit', '{"type": "echo", "args": ');
      expect(badJson).toMatchObject({ status: 400, body: errorBody('validation_error', '/submit') });

      const unknownType = await postJson(pod.baseUrl, '/submit', { type: 'no.such.type', args: {} });
      expect(unknownType).toMatchObject({ status: 400, body: errorBody('validation_error', '/submit') });
      expect(locs(unknownType)).toContain('type');

      const badArgs = await postJson(pod.baseUrl, '/submit', { type: 'sleep', args: { ms: -1 } });
      expect(badArgs).toMatchObject({ status: 400, body: errorBody('validation_error', '/submit') });
      expect(locs(badArgs)).toEqual(['args.ms']);

      const tooLarge = await postJson(pod.baseUrl, '/submit', { type: 'echo', args: { blob: 'x'.repeat(300 * 1024) } });
      expect(tooLarge).toMatchObject({ status: 413, body: errorBody('payload_too_large', '/submit') });

      const unknownId = 'step_0000000000AAAAAAAAAAAAAAAA';
      expect(await getJson(pod.baseUrl, `/status/${unknownId}`)).toMatchObject({ status: 404, body: errorBody('not_found', `/status/${unknownId}`) });
      expect(await postJson(pod.baseUrl, `/admin/dlq/${unknownId}/replay`, {})).toMatchObject({
        status: 404,
        body: errorBody('not_found', `/admin/dlq/${unknownId}/replay`),
      });

      expect(await snapshot()).toEqual(before);
      expect(pod.exit).toBeNull();
    });
  }, 60_000);
});
