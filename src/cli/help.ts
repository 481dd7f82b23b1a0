/**
 * The `fleet-q` usage texts, top level and per command (DESIGN §5 CLI). Owns wording only: the
 * options themselves are declared where they are parsed, and every option named here must exist there.
 */

export const COMMANDS = ['start', 'submit', 'status', 'queue', 'dlq', 'cancel', 'migrate'] as const;
export type CommandName = (typeof COMMANDS)[number];

const CONFIG_NOTE = `Configuration comes from FLEET_Q_* environment variables (storage, database path or URL,
table prefix, FLEET_Q_HANDLERS, ...); an invalid configuration exits 2 listing every problem.`;

const EXIT_CODES = `Exit codes: 0 ok, 1 not found or conflict (or the database failed), 2 usage or configuration error.`;

export const TOP_HELP = `Usage: fleet-q <command> [options]

A brokerless distributed task queue coordinated through the database.

Commands:
  start                      run a pod (claims and runs steps, serves the HTTP API)
  submit <type> [options]    submit a step; prints its step id
  status <step_id>           show a step
  queue                      show queue counts, pods and leader
  dlq [list | replay <id>]   list the dead-letter queue, or replay a step from it
  cancel <step_id>           cancel a pending or running step
  migrate                    create or upgrade the database schema

Options:
  --json        print exactly the JSON body of the matching HTTP route
  -h, --help    show help (also: fleet-q <command> --help)
  --version     print the version

${CONFIG_NOTE}
${EXIT_CODES}
`;

export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  start: `Usage: fleet-q start

Runs a pod in this process: registers it, claims and runs steps of the registered types (built-ins
echo, sleep, fail, plus FLEET_Q_HANDLERS), heartbeats, takes part in leader election and serves the
HTTP API on FLEET_Q_API_HOST:FLEET_Q_API_PORT. SIGTERM or SIGINT drains it and exits 0.

${CONFIG_NOTE}
`,
  submit: `Usage: fleet-q submit <type> [--args JSON] [--metadata JSON] [--priority N] [--max-retries N]
                       [--timeout-ms N] [--idempotency-key K] [--deadline ISO] [--json]
       fleet-q submit --batch FILE [--json]

Submits a step and prints only its step id (the existing id when --idempotency-key was already used
with identical args). Args are checked against the step type's schema first; nothing is written when
anything is refused.

Options:
  --args JSON             the step's arguments (default {})
  --metadata JSON         a JSON object stored with the step
  --priority N            higher runs first (default 0)
  --max-retries N         retries before dead-lettering (0-25; default: the step type's, else FLEET_Q_DEFAULT_MAX_RETRIES)
  --timeout-ms N          per-attempt timeout (default: the step type's, else FLEET_Q_DEFAULT_STEP_TIMEOUT_MS)
  --idempotency-key K     submit at most once per (type, key)
  --deadline ISO          an ISO-8601 time with a zone; within a priority the earliest deadline runs first
  --batch FILE            submit many steps, all or none: FILE holds {"steps": [ ... ]} or [ ... ] with the
                          fields of POST /submit; '-' reads standard input. Prints one id per line, in order.
  --json                  print the HTTP body: {"step_id", "status", "message"} (batch: {"step_ids"})

${EXIT_CODES}
`,
  status: `Usage: fleet-q status <step_id> [--history] [--json]

Shows a step: status, holder, attempts, retries, last error, result and the handler's progress.

Options:
  --history   include the step's audit events
  --json      print the body of GET /status/:step_id

${EXIT_CODES}
`,
  queue: `Usage: fleet-q queue [--json]

Shows step counts by status, pending steps by priority, active steps by type, live pods and the leader.

Options:
  --json   print the body of GET /admin/queue

${EXIT_CODES}
`,
  dlq: `Usage: fleet-q dlq [list] [--limit N] [--offset N] [--json]
       fleet-q dlq replay <step_id> [--json]

list (the default) shows dead-lettered steps, newest first. replay puts a dead-lettered step back to
pending with its retry count reset.

Options:
  --limit N    steps to show, 1-500 (default 50)
  --offset N   steps to skip (default 0)
  --json       print the body of GET /admin/dlq, or of POST /admin/dlq/:step_id/replay

${EXIT_CODES}
`,
  cancel: `Usage: fleet-q cancel <step_id> [--json]

Cancels a pending or running step: its status becomes cancelled (terminal, not the dead-letter queue,
never replayed). A running handler's ctx.signal is aborted within one claim interval and whatever it
writes afterwards is refused. Exits 1 when the step is unknown or already completed, failed or cancelled.

Options:
  --json   print the body of POST /steps/:step_id/cancel

${EXIT_CODES}
`,
  migrate: `Usage: fleet-q migrate [--json]

Creates the tables or upgrades them to this version's schema (additive, safe to run while pods run).
Refuses a database whose schema is newer than this version.

Options:
  --json   print {"from_version", "to_version"}

${EXIT_CODES}
`,
};
