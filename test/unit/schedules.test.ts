/**
 * Schedules as declared: every load-time problem is listed at once (the pod refuses to start), and
 * the tick arithmetic (due ticks per policy, next tick, keys) holds in a time zone with seconds and
 * across a daylight-saving change. Pure: no store, no clock.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/errors.js';
import { compileSchedules } from '../../src/schedules/definition.js';
import { dueTicks, nextTick, recentTicks, tickKey } from '../../src/schedules/ticks.js';
import { withBuiltinSteps } from '../../src/steps/load.js';
import { defineStep, StepRegistry } from '../../src/steps/registry.js';

const registry = new StepRegistry(
  withBuiltinSteps([defineStep({ type: 'report.daily', args: z.object({ team: z.string() }).strict(), handler: () => null, maxRetries: 7 })]),
);
const DEFAULTS = { defaultMaxRetries: 3, defaultStepTimeoutMs: 900_000 };
const compile = (definitions: readonly unknown[]) => compileSchedules(definitions, registry, DEFAULTS);

function problemsOf(definitions: readonly unknown[]): { loc: string; msg: string }[] {
  try {
    compile(definitions);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...((err as ConfigError).errors ?? [])];
  }
  throw new Error('expected a ConfigError');
}

describe('compileSchedules', () => {
  it('compiles a valid schedule with the step type defaults resolved', () => {
    const [s] = compile([
      { name: 'daily', type: 'report.daily', cron: '0 30 7 * * 1-5', timezone: 'Europe/Paris', args: { team: 'ops' }, priority: 5, missed: { backfill: 3 } },
    ]);
    expect(s).toMatchObject({ name: 'daily', type: 'report.daily', timezone: 'Europe/Paris', window: 3, missed: 'backfill' });
    expect(s!.submission).toEqual({
      type: 'report.daily',
      args: { team: 'ops' },
      metadata: {},
      priority: 5,
      maxRetries: 7,
      timeoutMs: 900_000,
      deadline: null,
    });
    expect(compile([{ name: 'echo', type: 'echo', cron: '* * * * *' }])[0]).toMatchObject({ timezone: 'UTC', window: 1, missed: 'skip' });
  });

  it('lists every problem of every schedule at once', () => {
    const problems = problemsOf([
      { name: 'Bad Name', type: 'nope', cron: 'every minute', timezone: 'Mars/Olympus', missed: 'sometimes', colour: 'red' },
      { name: 'daily', type: 'report.daily', cron: '0 7 * * *', args: { team: 3 }, priority: 1.5, maxRetries: 99 },
      { name: 'daily', type: 'echo', cron: '* * * * * * * *', missed: { backfill: 0 } },
      'not an object',
    ]);
    expect(problems.map((p) => p.loc).sort()).toEqual(
      [
        'schedules[0].colour',
        'schedules[0].name',
        'schedules[0].timezone',
        'schedules[0].cron',
        'schedules[0].missed',
        'schedules[0].type',
        'schedules[1].args.team',
        'schedules[1].priority',
        'schedules[1].maxRetries',
        'schedules[2].name',
        'schedules[2].cron',
        'schedules[2].missed',
        'schedules[3]',
      ].sort(),
    );
    expect(problems.find((p) => p.loc === 'schedules[0].type')?.msg).toContain("unknown step type 'nope'");
    expect(problems.find((p) => p.loc === 'schedules[2].name')?.msg).toContain("'daily' is declared twice");
    expect(problems.find((p) => p.loc === 'schedules[0].timezone')?.msg).toContain('Mars/Olympus');
  });

  it('refuses a missed-tick policy of any other shape', () => {
    for (const missed of [null, 'backfill', { backfill: 3, extra: 1 }, { backfill: 101 }, { backfill: 2.5 }, 3]) {
      expect(problemsOf([{ name: 'm', type: 'echo', cron: '* * * * *', missed }]).map((p) => p.loc)).toEqual(['schedules[0].missed']);
    }
  });

  it('refuses an expression that never fires again', () => {
    expect(problemsOf([{ name: 'never', type: 'echo', cron: '0 0 30 2 *' }]).map((p) => p.loc)).toEqual(['schedules[0].cron']);
  });
});

describe('ticks', () => {
  const at = (iso: string) => Date.parse(iso);
  const iso = (ms: number) => new Date(ms).toISOString();

  it('due ticks: the latest for skip, the N most recent (oldest first) for backfill, a tick due at its exact time', () => {
    const [skip, backfill] = compile([
      { name: 'skip', type: 'echo', cron: '*/10 * * * * *' },
      { name: 'back', type: 'echo', cron: '*/10 * * * * *', missed: { backfill: 3 } },
    ]);
    expect(dueTicks(skip!, at('2026-03-01T10:00:25.500Z')).map(iso)).toEqual(['2026-03-01T10:00:20.000Z']);
    expect(dueTicks(skip!, at('2026-03-01T10:00:20.000Z')).map(iso)).toEqual(['2026-03-01T10:00:20.000Z']);
    expect(dueTicks(backfill!, at('2026-03-01T10:00:29.999Z')).map(iso)).toEqual([
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:00:10.000Z',
      '2026-03-01T10:00:20.000Z',
    ]);
    expect(iso(nextTick(skip!, at('2026-03-01T10:00:20.000Z'))!)).toBe('2026-03-01T10:00:30.000Z');
    expect(recentTicks(backfill!, at('2026-03-01T10:00:20.000Z'), 2).map(iso)).toEqual(['2026-03-01T10:00:20.000Z', '2026-03-01T10:00:10.000Z']);
  });

  it('reads the expression in its time zone, across a daylight-saving change', () => {
    const [paris] = compile([{ name: 'paris', type: 'echo', cron: '0 30 7 * * *', timezone: 'Europe/Paris', missed: { backfill: 2 } }]);
    // Paris leaves winter time (UTC+1) for summer time (UTC+2) on 2026-03-29.
    expect(dueTicks(paris!, at('2026-03-29T12:00:00Z')).map(iso)).toEqual(['2026-03-28T06:30:00.000Z', '2026-03-29T05:30:00.000Z']);
    expect(iso(nextTick(paris!, at('2026-03-29T12:00:00Z'))!)).toBe('2026-03-30T05:30:00.000Z');
  });

  it('keys are deterministic per (schedule, tick) and differ between schedules and ticks', () => {
    expect(tickKey('daily', at('2026-03-01T07:30:00Z'))).toBe('schedule:daily:2026-03-01T07:30:00.000Z');
    expect(tickKey('daily', 1)).not.toBe(tickKey('daily', 1_000));
    expect(tickKey('a', 1_000)).not.toBe(tickKey('b', 1_000));
  });
});
