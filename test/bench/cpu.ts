/**
 * CPU cost of the benchmark's own process while a pod works in it: `process.cpuUsage` over a
 * window (user + system µs), and, with `--profile`, a V8 CPU profile of the same window reduced to
 * its top functions by self time. Owns those two measurements; must not start or stop pods.
 */
import { Session } from 'node:inspector/promises';

/** Starts a CPU-time meter; the returned function gives the µs spent by this process since. */
export function cpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
}

/** One function of a profile, by self time. */
export interface ProfileEntry {
  readonly fn: string;
  /** Share of all samples, 0–1. */
  readonly share: number;
  readonly selfMs: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** A running profiler; `stop()` ends it and returns the top `limit` functions by self time, then areas (prefixed `area:`). */
export interface Profiler {
  stop(limit?: number): Promise<ProfileEntry[]>;
}

/** Where a frame's code lives: a package, FLEET-Q's own code by folder, or V8/Node internals. */
function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)' || fn === '(idle)' || fn === '(program)') return fn;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const own = /\/bench-dist\/((?:src\/[^/]+|machines|test\/bench))\//.exec(url);
  if (own) return own[1]!.endsWith('.js') ? 'src' : own[1]!;
  return url.startsWith('node:') || url === '' ? 'node internals and native' : 'other';
}

/** Starts the V8 sampling profiler in this process (100 µs interval). */
export async function startProfiler(): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop(limit = 15) {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      session.disconnect();
      return topFunctions(profile, limit);
    },
  };
}

/** Where a frame lives, shortened to the package or the repository-relative file. */
function location(url: string, line: number): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('node_modules/');
  const short = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(/^.*\/bench-dist\//, '').replace(/^file:\/\//, '');
  return `${short}:${line + 1}`;
}

function topFunctions(profile: CpuProfile, limit: number): ProfileEntry[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  const areaUs = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byNode.get(samples[i]!);
    if (node === undefined) continue;
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${location(frame.url, frame.lineNumber)}`.trim();
    const us = Math.max(0, deltas[i] ?? 0);
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
    const area = areaOf(frame.functionName, frame.url);
    areaUs.set(area, (areaUs.get(area) ?? 0) + us);
    total += us;
  }
  // Shares of the busy time: the idle share only says how long the pod waited on the database.
  const busy = total - (areaUs.get('(idle)') ?? 0);
  const entries = (map: Map<string, number>, prefix: string) =>
    [...map]
      .filter(([fn]) => !fn.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([fn, us]) => ({ fn: prefix + fn, share: busy === 0 ? 0 : us / busy, selfMs: us / 1000 }));
  return [...entries(selfUs, ''), ...entries(areaUs, 'area: ')];
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux this runs on). */
const USER_HZ = 100;

/**
 * CPU µs (user + system) another process has spent so far, from /proc (Linux); null elsewhere, or
 * when `command` is given and the process runs another one.
 */
export async function processCpuMicros(pid: number, command?: string): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (command !== undefined && stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== command) return null;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
  } catch {
    return null;
  }
}

/** Resident and peak resident memory of a process in MB, from /proc (Linux); null elsewhere. */
export async function processMemoryMb(pid: number): Promise<{ readonly rssMb: number; readonly peakMb: number } | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(/^(\w+):\s+(\d+) kB$/m.exec(status.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[2] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}
