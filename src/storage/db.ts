/**
 * The driver port: one SQL dialect (Postgres) over two engines, PGlite in process and
 * PostgreSQL over `pg`. Everything above it is engine-agnostic.
 */
export interface QueryOptions {
  /**
   * Prepares the statement once per connection under this name. Only for hot statements of
   * fixed text: parsing, analysing and planning the send batch's call was a tenth of
   * PostgreSQL's CPU under load; on PGlite, outside a transaction, it also spares the
   * exchanges query() makes per call (pglite-prepared.ts). One name, one text.
   */
  name?: string;
  /**
   * 'array': each row as an array of its columns, in the statement's order. For hot
   * statements: node-postgres makes an object row by cloning a template object, which takes
   * V8's slow path once a process runs statements of several shapes (under load, about half
   * of its time turning the send batch's answer into rows); PGlite's rows also cross from
   * its worker thread cheaper as arrays.
   */
  rowMode?: 'array';
}

/** A statement of a pipeline: prepared once per connection under its name (one name, one text). */
export interface Statement {
  name: string;
  text: string;
  params: unknown[];
}

/**
 * Settings (GUCs) a pipeline's statements are planned and run under, and only they: as
 * plpgsql's `ALTER FUNCTION ... SET` held them for a function. A generic plan, say, is made
 * once per connection and must not depend on a setting some other query left behind.
 */
export type Settings = Readonly<Record<string, string>>;

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[], opts?: QueryOptions): Promise<R[]>;
  /** Runs a script of several statements (no parameters); answers the last one's rows. */
  exec(text: string): Promise<Record<string, unknown>[]>;
  /**
   * Runs named statements in order, in one transaction (the caller's, or else their own) that
   * nothing else interleaves with, and answers each one's rows as arrays of columns. Outside
   * a transaction it is one exchange with the engine: every statement sent, then one Sync
   * (the protocol's implicit transaction), where a plpgsql function doing the same costs its
   * own work on top (the send batch: sql/send-batch-statements.ts). A failing statement fails
   * the whole, and the transaction with it.
   */
  pipeline(statements: Statement[], settings?: Settings): Promise<unknown[][][]>;
  /**
   * Set where the engine runs one transaction at a time (PGlite's one connection): no other
   * transaction can change a row between two statements of one, so a lock taken against
   * concurrent writers has nothing to wait for, and costs a statement for nothing.
   */
  readonly oneAtATime?: true;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws.
   * On PGlite (one connection) transactions are serialised; plain queries wait for them.
   */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * A connection of its own for the send batcher, where the engine has several (PostgreSQL):
   * sends never wait behind other queries for a pooled connection, and every batch runs on
   * the one backend. Absent on PGlite, whose one connection everything shares.
   */
  readonly sendConnection?: Queryable;
  close(): Promise<void>;
}

/** Postgres int8 comes back as a string by default; every bigint here fits a double. */
export const INT8_OID = 20;
