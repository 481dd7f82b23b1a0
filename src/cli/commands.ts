/**
 * The read and operator commands of `fleet-q`: `status`, `queue`, `dlq [list | replay]`, `cancel`
 * and `migrate`. Each prints either the HTTP route's body (`--json`) or its human rendering, and returns
 * the exit code; failures are thrown for run.ts to map. Must not touch argv, env or process exit.
 */
import { dlqPage } from '../http/dlq-page.js';
import { openStore } from '../store/open.js';
import { migrateView } from '../http/views.js';
import { printJson, printLines, UsageError, type CommandContext } from './context.js';
import { formatDlq, formatQueue, formatStep } from './format.js';

/** `fleet-q status <step_id> [--history]`. */
export async function statusCommand(ctx: CommandContext, history: boolean, positionals: readonly string[]): Promise<number> {
  const stepId = onlyArgument(positionals, '<step_id>', 'status');
  ctx.route = `/status/${stepId}`;
  const client = await ctx.openClient({ withHandlers: false });
  try {
    const view = await client.status(stepId, { history });
    if (ctx.json) printJson(ctx.io, view);
    else printLines(ctx.io, formatStep(view));
    return 0;
  } finally {
    await client.close();
  }
}

/** `fleet-q cancel <step_id>`: 1 when unknown or already terminal (the route's 404 and 409). */
export async function cancelCommand(ctx: CommandContext, positionals: readonly string[]): Promise<number> {
  const stepId = onlyArgument(positionals, '<step_id>', 'cancel');
  ctx.route = `/steps/${stepId}/cancel`;
  const client = await ctx.openClient({ withHandlers: false });
  try {
    const view = await client.cancel(stepId);
    if (ctx.json) printJson(ctx.io, view);
    else printLines(ctx.io, [`${view.step_id} cancelled (was ${view.previous_status})`]);
    return 0;
  } finally {
    await client.close();
  }
}

/** `fleet-q queue`. */
export async function queueCommand(ctx: CommandContext, positionals: readonly string[]): Promise<number> {
  ctx.route = '/admin/queue';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'queue');
  const client = await ctx.openClient({ withHandlers: false });
  try {
    const view = await client.queue();
    if (ctx.json) printJson(ctx.io, view);
    else printLines(ctx.io, formatQueue(view));
    return 0;
  } finally {
    await client.close();
  }
}

/** `fleet-q dlq [list] [--limit N] [--offset N]` and `fleet-q dlq replay <step_id>`. */
export async function dlqCommand(
  ctx: CommandContext,
  values: { readonly limit?: string; readonly offset?: string },
  positionals: readonly string[],
): Promise<number> {
  const [action = 'list', ...rest] = positionals;
  if (action === 'replay') {
    if (values.limit !== undefined || values.offset !== undefined) throw new UsageError('--limit and --offset apply to dlq list only', 'dlq');
    const stepId = onlyArgument(rest, '<step_id>', 'dlq');
    ctx.route = `/admin/dlq/${stepId}/replay`;
    const client = await ctx.openClient({ withHandlers: false });
    try {
      const view = await client.replay(stepId);
      if (ctx.json) printJson(ctx.io, view);
      else printLines(ctx.io, [`${view.step_id} replayed: ${view.status}`]);
      return 0;
    } finally {
      await client.close();
    }
  }
  if (action !== 'list') throw new UsageError(`unknown dlq action '${action}'; use 'list' or 'replay <step_id>'`, 'dlq');
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, 'dlq');
  ctx.route = '/admin/dlq';
  // Checked before connecting: a bad page is a usage error whatever the database's state.
  const page = dlqPage(values);
  const client = await ctx.openClient({ withHandlers: false });
  try {
    const view = await client.dlq(page);
    if (ctx.json) printJson(ctx.io, view);
    else printLines(ctx.io, formatDlq(view, page.offset));
    return 0;
  } finally {
    await client.close();
  }
}

/** `fleet-q migrate`: the one command that opens the store without migrating it first. */
export async function migrateCommand(ctx: CommandContext, positionals: readonly string[]): Promise<number> {
  ctx.route = 'migrate';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'migrate');
  const store = await openStore(ctx.config, { migrate: false });
  try {
    const result = await store.migrate();
    if (ctx.json) printJson(ctx.io, migrateView(result));
    else if (result.from === result.to) printLines(ctx.io, [`Schema is up to date (version ${result.to}).`]);
    else printLines(ctx.io, [`Schema migrated from version ${result.from} to ${result.to}.`]);
    return 0;
  } finally {
    await store.close();
  }
}

function onlyArgument(positionals: readonly string[], name: string, command: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${name}`, command);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, command);
  return positionals[0]!;
}
