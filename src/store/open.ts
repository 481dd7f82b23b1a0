/**
 * Configuration → a migrated store of the chosen kind. The only place that picks a driver, so
 * http/, the client and the CLI never import one. Drivers are imported lazily: a SQLite pod never
 * loads pg, and a PostgreSQL or MySQL pod never opens a SQLite file.
 */
import { readFileSync } from 'node:fs';
import { capacityOf, storePolicyOf, type FleetConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { Store } from './store.js';

/** Opens the configured store and brings its schema up to date (refusing a newer one). */
export async function openStore(config: FleetConfig, options: { readonly migrate?: boolean } = {}): Promise<Store> {
  const store = await openDriver(config);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

async function openDriver(config: FleetConfig): Promise<Store> {
  const policy = storePolicyOf(config);
  switch (config.storageMode) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/driver.js');
      return openSqliteStore({ path: config.sqliteDbPath, tablePrefix: config.tablePrefix, policy });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/driver.js');
      return openPostgresStore({
        url: config.databaseUrl!,
        schema: config.dbSchema,
        tablePrefix: config.tablePrefix,
        policy,
        // Steps hold no connection while they run, so a pool of capacity + 2 covers claims,
        // completions finishing together and the API; heartbeats have their own reserved client.
        poolSize: capacityOf(config) + 2,
        ssl: sslOptions(config),
      });
    }
    case 'mysql': {
      const { openMysqlStore } = await import('./mysql/driver.js');
      return openMysqlStore({
        url: config.databaseUrl!,
        tablePrefix: config.tablePrefix,
        policy,
        // As for PostgreSQL: steps hold no connection while they run; heartbeats have their own pool.
        poolSize: capacityOf(config) + 2,
        ssl: sslOptions(config),
      });
    }
    case 'snowflake':
      throw new ConfigError([{ loc: 'FLEET_Q_STORAGE_MODE', msg: 'the snowflake store is not available in this build; use sqlite or postgres' }]);
  }
}

function sslOptions(config: FleetConfig): { rejectUnauthorized: boolean; ca?: string } | undefined {
  if (config.databaseSslCa === undefined && config.databaseSslRejectUnauthorized) return undefined;
  return {
    rejectUnauthorized: config.databaseSslRejectUnauthorized,
    ...(config.databaseSslCa === undefined ? {} : { ca: readFileSync(config.databaseSslCa, 'utf8') }),
  };
}
