// Config for the nested Prisma 6.19.3 CLI; run it through prisma6.mjs, which writes the derived schema.
// Prisma 6.19 can drive its wasm schema engine through a driver adapter (no native engine download).
// A plain object on purpose: `prisma/config` resolves to Prisma 7 at the repo root, and 7.x has no
// `engine`/`adapter` keys. The adapter workarounds are explained in README.md.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

// The engine reads pg_catalog columns of type "char" (18) and name (19), and arrays of them
// (1002, 1003), which the adapter cannot deserialize (prisma/orm#27403). Report them as text / text[].
const CATALOG_TYPES: Record<number, number> = { 18: 25, 19: 25, 1002: 1009, 1003: 1009 };

class CatalogSafeClient extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super(config);
    // Runs before pg's own RowDescription handler, so pg also picks the text parsers for these columns.
    this.connection.prependListener('rowDescription', (msg: { fields: { dataTypeID: number }[] }) => {
      for (const field of msg.fields) field.dataTypeID = CATALOG_TYPES[field.dataTypeID] ?? field.dataTypeID;
    });
  }
}

class MigratePg extends PrismaPg {
  private readonly poolConfig: pg.PoolConfig;
  private readonly schema: string | undefined;

  constructor(databaseUrl: string) {
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    // Discrete fields, never `connectionString`: the adapter builds the shadow pool as
    // `{ ...config, database }`, and pg ignores `database` when a connection string is present.
    const poolConfig: pg.PoolConfig = {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username) || undefined,
      password: decodeURIComponent(url.password) || undefined,
      database: decodeURIComponent(url.pathname.slice(1)) || undefined,
      options: schema ? `-c search_path="${schema}"` : undefined,
      Client: CatalogSafeClient,
      idleTimeoutMillis: 200, // otherwise the CLI lingers ~10 s on pg's idle timeout before exiting
    };
    super(poolConfig, { schema });
    this.poolConfig = poolConfig;
    this.schema = schema;
  }

  // The stock version drops the shadow database while its own pool still holds connections
  // ("is being accessed by other users"). End that pool first, then force the drop.
  override async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.poolConfig, database }, { schema: this.schema }).connect();
    // `?schema=` is the search_path, and a fresh shadow database has only "public".
    if (this.schema) await shadow.executeScript(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
    const disposeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await disposeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}

export default {
  engine: 'js',
  experimental: { adapter: true },
  schema: '.generated/schema.prisma', // derived from prisma/schema.prisma by prisma6.mjs
  migrations: { path: '../../prisma/migrations' },
  async adapter() {
    return new MigratePg(process.env.DATABASE_URL!);
  },
};
