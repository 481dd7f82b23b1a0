/**
 * `watchWork` for PostgreSQL: one dedicated LISTEN connection per store, shared by every subscriber,
 * so an idle pod learns of new work within milliseconds of the committing transaction. Owns the
 * listener's lifecycle (connect, reconnect with backoff, stop) and the wake timer; must not claim or
 * decide anything: it only calls `onWork`, and may call it spuriously.
 *
 * Notifications come from transitions that make a step pending (submit, release, retry, recovery,
 * replay). A step whose backoff or delay ends later produces no notification when it becomes due,
 * so after each notification (and on every (re)connect) the listener reads the earliest future
 * `run_after` over its own connection and sets a timer for it, measured on the database clock.
 * Subscribers that ask are told when the connection comes up and when it drops, so a pod polls for
 * work only while it cannot rely on the notifications.
 */
import pg from 'pg';
import type { PgNames } from './names.js';
import { nextWakeSql } from './queries.maintenance.js';

/** Reconnect delays double from 100 ms up to 5 s, each × U[0.5, 1] so pods do not reconnect in step. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A far-off wake is re-read at least this often, in case a change was missed. */
const MAX_WAKE_DELAY_MS = 60_000;

interface Subscriber {
  readonly onWork: () => void;
  /** Told when the LISTEN connection comes up (true) and when it drops (false). */
  readonly onListening: ((listening: boolean) => void) | undefined;
}

interface NextWakeRow {
  readonly now_ms: number;
  readonly next_ms: number | null;
}

export interface WorkWatcherDeps {
  readonly clientConfig: pg.ClientConfig;
  readonly names: PgNames;
  /** Reports (classifies, forwards to `onError`) a failure of the LISTEN connection. */
  readonly report: (err: unknown) => void;
}

/** The LISTEN connection of one store; starts with the first subscriber and stops with the last. */
export class WorkWatcher {
  private readonly subscribers = new Set<Subscriber>();
  private readonly deps: WorkWatcherDeps;
  private readonly nextWakeText: string;
  /** The connected, listening client, or null while (re)connecting or stopped. */
  private client: pg.Client | null = null;
  /** The client being connected, so a failure during connect is recognised as ours. */
  private connecting: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private refreshing = false;
  private refreshAgain = false;
  private firePending = false;

  constructor(deps: WorkWatcherDeps) {
    this.deps = deps;
    this.nextWakeText = nextWakeSql(deps.names);
  }

  /** Adds a subscriber; the returned function removes it (idempotent). */
  subscribe(onWork: () => void, onListening?: (listening: boolean) => void): () => void {
    const subscriber: Subscriber = { onWork, onListening };
    this.subscribers.add(subscriber);
    if (this.subscribers.size === 1) void this.connect();
    else if (this.client !== null && onListening !== undefined) {
      setImmediate(() => {
        if (this.subscribers.has(subscriber) && this.client !== null) tell(subscriber, true);
      });
    }
    return () => {
      if (!this.subscribers.delete(subscriber)) return;
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** Drops every subscriber and the connection. */
  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  /** True while the LISTEN connection is up (tests wait for it before expecting wakes). */
  get listening(): boolean {
    return this.client !== null;
  }

  private async connect(): Promise<void> {
    if (this.client !== null || this.connecting !== null || this.subscribers.size === 0) return;
    const client = new pg.Client(this.deps.clientConfig);
    this.connecting = client;
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client, undefined));
    client.on('notification', (message) => {
      if (message.channel !== this.deps.names.channel || client !== this.client) return;
      this.fire();
      this.refresh();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.deps.names.channelIdentifier}`);
    } catch (err) {
      this.dropped(client, err);
      return;
    }
    if (this.connecting !== client) return; // stopped or dropped while connecting
    this.connecting = null;
    this.client = client;
    this.failures = 0;
    // Notifications sent while we were not listening are lost: wake once to catch up.
    this.fire();
    this.refresh();
    for (const s of [...this.subscribers]) tell(s, true);
  }

  /** The connection failed or ended: report it and, while anyone listens, reconnect later. */
  private dropped(client: pg.Client, err: unknown): void {
    if (client !== this.client && client !== this.connecting) return;
    const wasListening = client === this.client;
    this.client = null;
    this.connecting = null;
    if (err !== undefined) this.deps.report(err);
    client.end().catch(() => undefined);
    if (wasListening) for (const s of [...this.subscribers]) tell(s, false);
    if (this.subscribers.size === 0 || this.reconnectTimer !== undefined) return;
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        void this.connect();
      },
      ceiling * (0.5 + 0.5 * Math.random()),
    );
    this.reconnectTimer.unref();
  }

  private stop(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.wakeTimer);
    this.reconnectTimer = undefined;
    this.wakeTimer = undefined;
    const clients = [this.client, this.connecting];
    this.client = null;
    this.connecting = null;
    for (const c of clients) c?.end().catch(() => undefined);
  }

  /** Calls every subscriber once, soon; a burst of notifications becomes one call. */
  private fire(): void {
    if (this.firePending) return;
    this.firePending = true;
    setImmediate(() => {
      this.firePending = false;
      for (const s of [...this.subscribers]) {
        try {
          s.onWork();
        } catch {
          // A subscriber's failure is its own; the others still hear of the work.
        }
      }
    });
  }

  /** Re-reads the earliest future run_after (at most one read in flight) and re-arms the timer. */
  private refresh(): void {
    const client = this.client;
    if (client === null) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    client
      .query<NextWakeRow>(this.nextWakeText)
      .then((result) => this.arm(result.rows[0]))
      // A dropped connection also emits `error` on the client, which reconnects; report the rest.
      .catch((err: unknown) => {
        if (client === this.client) this.deps.report(err);
      })
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refresh();
        }
      });
  }

  private arm(row: NextWakeRow | undefined): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (row === undefined || row.next_ms === null || this.subscribers.size === 0) return;
    const due = row.next_ms - row.now_ms;
    const delay = Math.min(Math.max(0, due), MAX_WAKE_DELAY_MS);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      if (due <= MAX_WAKE_DELAY_MS) this.fire();
      this.refresh();
    }, delay + 1);
    this.wakeTimer.unref();
  }
}

/** Tells one subscriber whether wakes flow; its failure is its own. */
function tell(subscriber: Subscriber, listening: boolean): void {
  try {
    subscriber.onListening?.(listening);
  } catch {
    // The other subscribers still hear of it.
  }
}
