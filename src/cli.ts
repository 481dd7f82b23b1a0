#!/usr/bin/env node
/**
 * The `fleet-q` executable (package.json `bin`): binds the process (argv, env, stdio, exit code) to
 * runCli in cli/run.ts, where commands, help and exit codes are defined. Holds no command logic.
 */
import { runCli } from './cli/run.js';

// `fleet-q queue | head -1` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin,
});
