/**
 * What a `fleet-q` command is handed: where to print, whether to print JSON, the loaded configuration
 * and how to reach the queue. Lets the commands stay free of process globals (argv, env, exit), which
 * only run.ts and the bin touch. Owns no command logic.
 */
import type { FleetClient } from '../client.js';
import type { FleetConfig } from '../config/config.js';

/** Where a command's output goes; lines are written with a trailing newline by the callee. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for `submit --batch -`. */
  readStdin(): Promise<string>;
}

export interface CommandContext {
  readonly io: CliIo;
  /** `--json`: print exactly the body of the matching HTTP route. */
  readonly json: boolean;
  readonly config: FleetConfig;
  /**
   * A client on the configured store. `withHandlers` loads FLEET_Q_HANDLERS (submit validates args
   * against them); read-only commands skip it so a broken handler module never hides the queue.
   */
  openClient(options: { readonly withHandlers: boolean }): Promise<FleetClient>;
  /** The HTTP route this command mirrors, for the `path` of a JSON error body; set by the command. */
  route: string;
}

/** A command line that cannot run as given (exit 2), with the command whose help to point at. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Prints `value` as the one-line JSON body the HTTP route would send. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value)}\n`);
}

/** Prints lines to standard output. */
export function printLines(io: CliIo, lines: readonly string[]): void {
  if (lines.length > 0) io.stdout(`${lines.join('\n')}\n`);
}
