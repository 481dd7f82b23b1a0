/**
 * A lock between test processes: a directory created with `mkdir` (atomic), holding the owner's pid
 * so a lock left by a killed runner is taken over instead of waited on. Used to build the CLI once
 * and to run one e2e file at a time. Owns locking only.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A held lock. */
export interface DirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(path: string): Promise<number | null> {
  const text = await readFile(join(path, 'pid'), 'utf8').catch(() => null);
  const pid = text === null ? Number.NaN : Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Waits (polling every 100 ms) until `path` can be created, taking over a dead owner's lock; throws after `timeoutMs`. */
export async function acquireDirLock(path: string, timeoutMs: number): Promise<DirLock> {
  const deadline = Date.now() + timeoutMs;
  let ownerlessSince: number | null = null;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      return { release: () => rm(path, { recursive: true, force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await ownerOf(path);
    // No pid yet: the owner is between mkdir and writeFile; only a long silence means it died there.
    ownerlessSince = owner === null ? (ownerlessSince ?? Date.now()) : null;
    const abandoned = owner === null ? Date.now() - (ownerlessSince ?? Date.now()) > 5_000 : !alive(owner);
    if (abandoned) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`lock ${path} still held by pid ${owner ?? '?'} after ${timeoutMs} ms`);
    await sleep(100);
  }
}
