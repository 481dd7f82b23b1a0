/**
 * Hears writes to one SQLite database's files through the operating system's file events (inotify on
 * Linux), so an idle watcher learns of another process's commit at once instead of at its next poll.
 * Owns the one `fs.watch` of the file's directory; it reads nothing from the database and decides
 * nothing: a heard write only says "look now" (watch.ts then reads `PRAGMA data_version`).
 * Why the directory and not the files: a WAL file can be deleted and made again (the last connection
 * closing checkpoints and removes it), and a watch on a deleted file hears nothing more; the
 * directory's watch names each changed file. WAL mode already requires every process of the file to
 * be on one host (they share the `-shm` memory map), which is where these events reach.
 */
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Calls `onChange` when the database's files may have changed, and `onLost` once if the events stop
 * (an error ended the watch); returns the function that stops it. Throws when it cannot watch at all.
 */
export type FileChanges = (onChange: () => void, onLost: () => void) => () => void;

/** Watches `path`, its `-wal` and its `-journal` (rollback mode) for writes. */
export function databaseFileChanges(path: string): FileChanges {
  // Resolved now: the process may change its working directory before anyone subscribes.
  const dir = dirname(resolve(path));
  const name = basename(path);
  const names = new Set([name, `${name}-wal`, `${name}-journal`]);
  return (onChange, onLost) => {
    // Not persistent: a watch must never keep a pod's process alive.
    const watcher = watch(dir, { persistent: false }, (_event, file) => {
      // No name (some platforms): any change in the directory may be ours.
      if (file === null || names.has(String(file))) onChange();
    });
    // An error (the directory went away, say) ends the events: the caller goes back to polling.
    watcher.on('error', () => {
      watcher.close();
      onLost();
    });
    return () => watcher.close();
  };
}
