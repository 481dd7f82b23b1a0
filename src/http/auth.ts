/**
 * Bearer-token authentication of the HTTP API: the three scopes (admin ⊃ submit ⊃ read), the token
 * lists of FLEET_Q_API_TOKENS_*, the constant-time check of a presented token, the fastify hook that
 * guards one route with one scope, and the start-up rule that a pod reachable from other hosts must
 * not run without tokens. Must not know routes (routes.ts maps each to its scope) and must never log
 * or echo a token: only its scope leaves this file.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FleetConfig } from '../config/config.js';
import { ConfigError, FleetError } from '../errors.js';

/** What a token may do; each scope includes the ones before it. */
export const SCOPES = ['read', 'submit', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The API's authentication, built once per app from the configuration. */
export interface ApiAuth {
  /** False when no token is configured or FLEET_Q_API_AUTH=none: every route is open. */
  readonly enabled: boolean;
  /** The scope of `authorization` (the raw header), or null when it carries no valid token. */
  scopeOf(authorization: string | undefined): Scope | null;
}

/** Authentication that lets everything through (tests, FLEET_Q_API_AUTH=none, a loopback pod without tokens). */
export const NO_AUTH: ApiAuth = { enabled: false, scopeOf: () => 'admin' };

type TokenConfig = Pick<FleetConfig, 'apiAuth' | 'apiTokensRead' | 'apiTokensSubmit' | 'apiTokensAdmin'>;

/** The tokens of one variable: comma-separated, spaces around commas ignored. */
export function tokenList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The authentication FLEET_Q_API_AUTH and FLEET_Q_API_TOKENS_* describe. */
export function apiAuthOf(config: TokenConfig): ApiAuth {
  if (config.apiAuth === 'none') return NO_AUTH;
  const entries: { digest: Buffer; rank: number }[] = [];
  const lists = [config.apiTokensRead, config.apiTokensSubmit, config.apiTokensAdmin];
  lists.forEach((list, rank) => {
    for (const token of tokenList(list)) entries.push({ digest: digest(token), rank });
  });
  if (entries.length === 0) return NO_AUTH;
  return {
    enabled: true,
    scopeOf(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) return null;
      // Digests have one length, so timingSafeEqual compares whole values; every entry is compared,
      // with no early exit, so the time taken does not tell which token (or scope) came close.
      const presented = digest(token);
      let best = -1;
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, presented) && entry.rank > best) best = entry.rank;
      }
      return best === -1 ? null : SCOPES[best]!;
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case), if any. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Whether `scope` includes `needed`. */
export function scopeIncludes(scope: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(scope) >= SCOPES.indexOf(needed);
}

/**
 * A fastify `onRequest`/`preHandler` hook that lets a request through only with a token of `needed`
 * (or more): 401 `unauthorized` without a valid token, 403 `permission_denied` with a weaker one,
 * both thrown into the app's error handler, so the body has the one error shape. Runs before the body
 * is read when used as `onRequest`. A no-op when `auth` is disabled.
 */
export function requireScope(auth: ApiAuth, needed: Scope): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (!auth.enabled) return;
    const scope = auth.scopeOf(request.headers.authorization);
    if (scope === null) {
      void reply.header('www-authenticate', 'Bearer realm="fleet-q"');
      throw new FleetError('unauthorized', 'missing or invalid bearer token; send Authorization: Bearer <token>');
    }
    if (!scopeIncludes(scope, needed)) {
      throw new FleetError('permission_denied', `this route needs a token with the ${needed} scope; the token given has the ${scope} scope`);
    }
  };
}

/** Addresses that only this host reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Refuses (ConfigError, so `fleet-q start` exits 2) an API bound beyond this host with no tokens and
 * no explicit FLEET_Q_API_AUTH=none: such a pod would let anyone on the network replay and recover.
 */
export function assertApiExposureAllowed(config: TokenConfig & Pick<FleetConfig, 'apiHost'>): void {
  if (isLoopbackHost(config.apiHost) || config.apiAuth === 'none' || apiAuthOf(config).enabled) return;
  throw new ConfigError([
    {
      loc: 'FLEET_Q_API_HOST',
      msg:
        `is ${config.apiHost}, reachable from other hosts, but no API token is set: set FLEET_Q_API_TOKENS_READ, ` +
        'FLEET_Q_API_TOKENS_SUBMIT and/or FLEET_Q_API_TOKENS_ADMIN, or FLEET_Q_API_AUTH=none if a gateway in front authenticates',
    },
  ]);
}
