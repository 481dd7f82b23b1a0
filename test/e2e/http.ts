/**
 * How end-to-end tests talk to a running pod and to the `fleet-q` CLI, as a user would: HTTP with
 * fetch (JSON, or raw bytes for malformed bodies) and the built executable as a child process.
 * Owns request plumbing only; it asserts nothing about the answers.
 */
import { execFile } from 'node:child_process';

/** An HTTP answer: the status and the parsed JSON body (null when the body is not JSON). */
export interface HttpAnswer {
  readonly status: number;
  // Bodies are checked field by field against DESIGN §5 with `expect`, so they stay untyped here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** Each request gives up after this long: a pod that cannot answer in 10 s is a failure worth seeing. */
const REQUEST_TIMEOUT_MS = 10_000;

async function request(baseUrl: string, method: string, path: string, body?: { text: string; contentType: string }, token?: string): Promise<HttpAnswer> {
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': body.contentType }),
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  };
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    headers,
    ...(body === undefined ? {} : { body: body.text }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** GET `path`, with a bearer `token` when given. */
export function getJson(baseUrl: string, path: string, token?: string): Promise<HttpAnswer> {
  return request(baseUrl, 'GET', path, undefined, token);
}

/** POST `body` as JSON, with a bearer `token` when given. */
export function postJson(baseUrl: string, path: string, body: unknown, token?: string): Promise<HttpAnswer> {
  return request(baseUrl, 'POST', path, { text: JSON.stringify(body), contentType: 'application/json' }, token);
}

/** POST `text` as is (malformed JSON, oversized bodies). */
export function postRaw(baseUrl: string, path: string, text: string, contentType = 'application/json'): Promise<HttpAnswer> {
  return request(baseUrl, 'POST', path, { text, contentType });
}

/** POST /submit; resolves the new step id, throwing with the body unless the answer is 201. */
export async function submitStep(baseUrl: string, step: { type: string; args: unknown; max_retries?: number; priority?: number }): Promise<string> {
  const answer = await postJson(baseUrl, '/submit', step);
  if (answer.status !== 201) throw new Error(`POST /submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.step_id as string;
}

/** POST /submit/batch; resolves the step ids in order, throwing with the body unless the answer is 201. */
export async function submitBatch(
  baseUrl: string,
  steps: readonly { type: string; args: unknown; max_retries?: number; priority?: number }[],
): Promise<string[]> {
  const answer = await postJson(baseUrl, '/submit/batch', { steps });
  if (answer.status !== 201) throw new Error(`POST /submit/batch answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.step_ids as string[];
}

/** One finished process: exit code (null when killed by a signal), the signal, and its output. */
export interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <cli> ...args` with exactly `env` in `cwd`; never rejects (a failed run is a result). */
export function runCli(
  cli: string,
  args: readonly string[],
  options: { readonly env: NodeJS.ProcessEnv; readonly cwd: string; readonly timeoutMs?: number },
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
    child.stdin?.end();
  });
}
