/**
 * The process logger: pino on stderr (fd 2), so stdout stays free for command output (`fleet-q submit`
 * prints only the step id). `json` writes one object per line for log pipelines; `console` writes one
 * readable line per record, formatted here rather than through pino-pretty, which would be one more
 * runtime dependency for a few lines of code. Owns formatting only: what to log is the caller's choice.
 */
import { pino, type DestinationStream } from 'pino';
import type { FleetConfig } from './config/config.js';

/** The logger every part of FLEET-Q writes to (step handlers get a child as `ctx.log`). */
export type Logger = pino.Logger;

/** Fields of every record that the console line shows in its own place, or not at all. */
const CONSOLE_OMITTED = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

/**
 * A logger at `config.logLevel` in `config.logFormat`, with `bindings` (e.g. `{ pod_id }`) on every
 * record. `destination` replaces stderr (tests collect lines with it).
 */
export function createLogger(
  config: Pick<FleetConfig, 'logLevel' | 'logFormat'>,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  // Synchronous writes: a pod may be SIGKILLed or exit right after logging why, and a buffered
  // line would be lost exactly when it matters.
  const sink = destination ?? pino.destination({ dest: 2, sync: true });
  const stream = config.logFormat === 'console' ? consoleStream(sink) : sink;
  const logger = pino(
    {
      level: config.logLevel,
      // Level names rather than numbers: readable as is, and what log pipelines filter on.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  return Object.keys(bindings).length === 0 ? logger : logger.child(bindings);
}

function consoleStream(sink: DestinationStream): DestinationStream {
  return { write: (line: string) => sink.write(formatConsoleLine(line)) };
}

/**
 * One pino JSON line → `2024-05-01T12:00:00.000Z INFO  message key=value …` plus a newline. Always a
 * single line: newlines inside values are escaped, and an error shows its message and first frame.
 */
export function formatConsoleLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const level = String(record['level'] ?? '')
    .toUpperCase()
    .padEnd(5);
  const parts = [String(record['time'] ?? ''), level, oneLine(String(record['msg'] ?? ''))];
  for (const [key, value] of Object.entries(record)) {
    if (!CONSOLE_OMITTED.has(key)) parts.push(`${key}=${formatValue(value)}`);
  }
  return `${parts.filter((p) => p !== '').join(' ')}\n`;
}

function formatValue(value: unknown): string {
  if (isSerializedError(value)) {
    const frame = value.stack
      ?.split('\n')
      .find((l) => l.trimStart().startsWith('at '))
      ?.trim();
    return JSON.stringify(`${value.type ?? 'Error'}: ${value.message}${frame === undefined ? '' : ` (${frame})`}`);
  }
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function isSerializedError(value: unknown): value is { type?: string; message: string; stack?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && 'stack' in value;
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}
