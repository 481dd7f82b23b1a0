/**
 * The runtime stage of the Dockerfile as data (the instructions after its last FROM): base image,
 * ENV, WORKDIR, the HEALTHCHECK command, ENTRYPOINT and CMD. Owns parsing only, for
 * test/e2e/image-runtime.test.ts, which reproduces that stage outside Docker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.js';

export interface RuntimeStage {
  readonly from: string;
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly healthcheck: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** Sources of `COPY --from=build` (what the stage takes from the build stage). */
  readonly copiedFromBuild: readonly string[];
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text: string): string[] {
  const lines = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
  return lines
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Parses the Dockerfile at the repository root. */
export function runtimeStage(path = join(ROOT, 'Dockerfile')): RuntimeStage {
  const all = instructions(readFileSync(path, 'utf8'));
  const last = all.map((line) => line.startsWith('FROM ')).lastIndexOf(true);
  const stage = all.slice(last);
  const env: Record<string, string> = {};
  let workdir = '/';
  let healthcheck: string[] = [];
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const copiedFromBuild: string[] = [];
  for (const line of stage) {
    const [word = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (word) {
      case 'ENV':
        for (const m of args.matchAll(/([A-Z0-9_]+)=(\S+)/g)) env[m[1]!] = m[2]!;
        break;
      case 'WORKDIR':
        workdir = args;
        break;
      case 'HEALTHCHECK':
        healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim()) as string[];
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'COPY':
        if (args.startsWith('--from=build ')) copiedFromBuild.push(args.split(/\s+/)[1]!.replace(/^\/app\//, ''));
        break;
      default:
        break;
    }
  }
  return { from: stage[0]!.slice('FROM '.length), env, workdir, healthcheck, entrypoint, cmd, copiedFromBuild };
}
