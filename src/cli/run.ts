/**
 * `fleet-q` dispatch: parses the command line (node:util parseArgs), prints help, loads the
 * configuration, runs one command and maps its outcome to an exit code — 0 ok, 1 not found or
 * conflict (and failures of the database or the process), 2 usage or configuration error
 * (DESIGN §5). Owns the command table and error reporting; the commands live beside it.
 *
 * `start` is the pod itself: it runs `runPodCommand(config)` from ../start.js, loaded only when
 * `start` is asked for, so the short-lived commands never load the pod runtime.
 */
import { parseArgs } from 'node:util';
import { clientOver, createClient, type FleetClient } from '../client.js';
import { loadConfig, type FleetConfig } from '../config/config.js';
import { ConfigError, FleetError } from '../errors.js';
import { errorResponse } from '../http/errors.js';
import { StepRegistry } from '../steps/registry.js';
import { withBuiltinSteps } from '../steps/load.js';
import { openStore } from '../store/open.js';
import { FLEET_Q_VERSION } from '../version.js';
import { cancelCommand, dlqCommand, migrateCommand, queueCommand, statusCommand } from './commands.js';
import { UsageError, type CliIo, type CommandContext } from './context.js';
import { COMMAND_HELP, COMMANDS, TOP_HELP, type CommandName } from './help.js';
import { SUBMIT_OPTIONS, submitCommand } from './submit.js';

/** Where `start` finds the pod: a module exporting `runPodCommand(config): Promise<number>` (the exit code). */
const POD_COMMAND_MODULE = '../pod/start.js';

const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS_OF = {
  start: {},
  submit: SUBMIT_OPTIONS,
  status: { history: { type: 'boolean' } },
  queue: {},
  dlq: { limit: { type: 'string' }, offset: { type: 'string' } },
  cancel: {},
  migrate: {},
} as const;

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** Runs one `fleet-q` invocation; resolves the process exit code. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let command: string | undefined;
  try {
    const start = argv.findIndex((arg) => !arg.startsWith('-'));
    const leading = start === -1 ? argv : argv.slice(0, start);
    const globals = parseArgs({ args: [...leading], options: { ...COMMON_OPTIONS, version: { type: 'boolean' } }, strict: true }).values;
    command = start === -1 ? undefined : argv[start];
    const rest = start === -1 ? [] : argv.slice(start + 1);

    if (command === undefined) {
      if (globals.version === true) return print(io.stdout, `${FLEET_Q_VERSION}\n`, 0);
      if (globals.help === true) return print(io.stdout, TOP_HELP, 0);
      return print(io.stderr, TOP_HELP, 2);
    }
    if (command === 'help') {
      const topic = rest[0];
      if (topic === undefined) return print(io.stdout, TOP_HELP, 0);
      if (!isCommand(topic)) throw new UsageError(`unknown command '${topic}'`);
      return print(io.stdout, COMMAND_HELP[topic], 0);
    }
    if (!isCommand(command)) throw new UsageError(`unknown command '${command}'`);

    const parsed = parseArgs({ args: [...rest], options: { ...COMMON_OPTIONS, ...OPTIONS_OF[command] }, strict: true, allowPositionals: true });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (globals.help === true || values['help'] === true) return print(io.stdout, COMMAND_HELP[command], 0);
    // `start` accepts --json like every command; its output is the pod's log, JSON lines by default.
    const json = globals.json === true || values['json'] === true;

    const config = loadConfig(env);
    const ctx: CommandContext = { io, json, config, openClient: (o) => openClient(config, o), route: command };
    return await runCommand(ctx, command, values, parsed.positionals);
  } catch (err) {
    return report(io, err, command, argv.includes('--json'));
  }
}

async function runCommand(ctx: CommandContext, command: CommandName, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  try {
    switch (command) {
      case 'start':
        if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'start');
        return await runPod(ctx.config);
      case 'submit':
        return await submitCommand(ctx, values, positionals);
      case 'status':
        return await statusCommand(ctx, values['history'] === true, positionals);
      case 'queue':
        return await queueCommand(ctx, positionals);
      case 'dlq':
        return await dlqCommand(ctx, values, positionals);
      case 'cancel':
        return await cancelCommand(ctx, positionals);
      case 'migrate':
        return await migrateCommand(ctx, positionals);
    }
  } catch (err) {
    return report(ctx.io, err, command, ctx.json, ctx.route);
  }
}

async function runPod(config: FleetConfig): Promise<number> {
  const module = (await import(POD_COMMAND_MODULE)) as { runPodCommand?: (config: FleetConfig) => Promise<number> };
  if (typeof module.runPodCommand !== 'function') throw new Error(`${POD_COMMAND_MODULE} does not export runPodCommand`);
  return module.runPodCommand(config);
}

async function openClient(config: FleetConfig, options: { readonly withHandlers: boolean }): Promise<FleetClient> {
  if (options.withHandlers) return createClient(config);
  const defaults = { defaultMaxRetries: config.defaultMaxRetries, defaultStepTimeoutMs: config.defaultStepTimeoutMs };
  return clientOver(await openStore(config), new StepRegistry(withBuiltinSteps([])), defaults);
}

function print(write: (text: string) => void, text: string, code: number): number {
  write(text);
  return code;
}

/** Prints `err` for a person (or, with --json, as the HTTP error body) and returns its exit code. */
function report(io: CliIo, err: unknown, command: string | undefined, json: boolean, route?: string): number {
  const known = command !== undefined && isCommand(command) ? command : undefined;
  const prefix = known === undefined ? 'fleet-q' : `fleet-q ${known}`;
  if (err instanceof UsageError || isParseArgsError(err)) {
    const helpOf = (err instanceof UsageError ? err.command : undefined) ?? known;
    const help = helpOf === undefined ? 'fleet-q --help' : `fleet-q ${helpOf} --help`;
    io.stderr(`${prefix}: ${(err as Error).message}\nRun '${help}' for usage.\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    const problems = err.errors ?? [];
    io.stderr(`${prefix}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
    io.stderr(problems.map((p) => `${p.loc}: ${p.msg}\n`).join(''));
    return 2;
  }
  const code = exitCodeOf(err);
  if (json) {
    // --json prints exactly the body the HTTP route would answer, error bodies included, on stdout
    // (the exit code says it failed), so a script reads one stream whatever happened.
    io.stdout(`${JSON.stringify(errorResponse(err, route ?? command ?? '').body)}\n`);
  } else if (err instanceof FleetError) {
    // Problems the message already states (a single-field error) are not repeated underneath.
    const problems = err.errors ?? [];
    const details = problems.every((p) => err.message.includes(p.msg)) ? '' : problems.map((p) => `  ${p.loc}: ${p.msg}\n`).join('');
    io.stderr(`${prefix}: ${err.message}\n${details}`);
  } else {
    io.stderr(`${prefix}: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return code;
}

function exitCodeOf(err: unknown): number {
  if (!(err instanceof FleetError)) return 1;
  return err.code === 'validation_error' ? 2 : 1;
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
