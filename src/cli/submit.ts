/**
 * `fleet-q submit`: one step from flags, or a batch from a file (`--batch FILE`, '-' = stdin).
 * Turns flags into the fields of POST /submit and hands them to the client, which validates exactly
 * as the API does; prints only step ids (or, with --json, the HTTP body). Must not validate step
 * fields itself beyond turning text into JSON and integers.
 */
import { readFile } from 'node:fs/promises';
import type { Submission } from '../steps/submission.js';
import { printJson, printLines, UsageError, type CommandContext } from './context.js';

/** The options of `submit` (besides --json and --help), for node:util parseArgs. */
export const SUBMIT_OPTIONS = {
  args: { type: 'string' },
  metadata: { type: 'string' },
  priority: { type: 'string' },
  'max-retries': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'idempotency-key': { type: 'string' },
  deadline: { type: 'string' },
  batch: { type: 'string' },
} as const;

type SubmitValues = { readonly [K in keyof typeof SUBMIT_OPTIONS]?: string };

/** Runs `submit`; returns the exit code. */
export async function submitCommand(ctx: CommandContext, values: SubmitValues, positionals: readonly string[]): Promise<number> {
  if (values.batch !== undefined) return submitBatch(ctx, values, positionals);
  ctx.route = '/submit';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <type>' : `unexpected argument '${positionals[1]}'`, 'submit');
  const submission: Record<string, unknown> = { type: positionals[0] };
  if (values.args !== undefined) submission['args'] = jsonFlag('--args', values.args);
  if (values.metadata !== undefined) submission['metadata'] = jsonFlag('--metadata', values.metadata);
  if (values.priority !== undefined) submission['priority'] = integerFlag('--priority', values.priority);
  if (values['max-retries'] !== undefined) submission['max_retries'] = integerFlag('--max-retries', values['max-retries']);
  if (values['timeout-ms'] !== undefined) submission['timeout_ms'] = integerFlag('--timeout-ms', values['timeout-ms']);
  if (values['idempotency-key'] !== undefined) submission['idempotency_key'] = values['idempotency-key'];
  if (values.deadline !== undefined) submission['deadline'] = values.deadline;

  const client = await ctx.openClient({ withHandlers: true });
  try {
    const body = await client.submit(submission as Submission);
    if (ctx.json) printJson(ctx.io, body);
    else printLines(ctx.io, [body.step_id]);
    return 0;
  } finally {
    await client.close();
  }
}

async function submitBatch(ctx: CommandContext, values: SubmitValues, positionals: readonly string[]): Promise<number> {
  ctx.route = '/submit/batch';
  const stray = (Object.keys(SUBMIT_OPTIONS) as (keyof SubmitValues)[]).filter((k) => k !== 'batch' && values[k] !== undefined);
  if (positionals.length > 0 || stray.length > 0) {
    throw new UsageError(`--batch takes every field from FILE; remove ${[...positionals, ...stray.map((k) => `--${k}`)].join(', ')}`, 'submit');
  }
  const file = values.batch!;
  let text: string;
  try {
    text = file === '-' ? await ctx.io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --batch ${file}: ${(err as Error).message}`, 'submit');
  }
  const parsed = jsonFlag(`--batch ${file}`, text);
  const steps = Array.isArray(parsed) ? parsed : (parsed as { steps?: unknown } | null)?.steps;

  const client = await ctx.openClient({ withHandlers: true });
  try {
    const body = await client.submitBatch(steps as Submission[]);
    if (ctx.json) printJson(ctx.io, body);
    else printLines(ctx.io, body.step_ids);
    return 0;
  } finally {
    await client.close();
  }
}

function jsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`, 'submit');
  }
}

function integerFlag(flag: string, text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) throw new UsageError(`${flag} must be an integer, got '${text}'`, 'submit');
  return Number(text);
}
