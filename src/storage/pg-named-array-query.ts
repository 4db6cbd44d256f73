import type pg from 'pg';

/** A parameter this path writes itself: text, numbers, NULL, and one-dimensional arrays of them. */
type Plain = string | number | null;
export type Param = Plain | Plain[];

/** The parts of node-postgres's Connection (pg/lib/connection.js) a query drives. */
interface Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { statement: string; values: Param[]; valueMapper(v: Param): string | null }): void;
  describe(m: { type: 'P'; name: string }): void;
  execute(c: object): void;
  sync(): void;
  close(m: { type: 'S'; name: string }): void;
  sendCopyFail(message: string): void;
}

type TypeParser = (text: string) => unknown;
/** node-postgres's type parsers (ClientConfig.types); answers here are always text (Bind asks for it). */
interface Types {
  getTypeParser(oid: number, format: 'text'): TypeParser;
}

/**
 * What each named statement answers, per connection: its columns' parsers, learnt from the
 * first execution's description. A prepared statement's columns cannot change while it is
 * prepared (PostgreSQL refuses: "cached plan must not change result type"), and a new
 * connection prepares it anew.
 */
const described = new WeakMap<Connection, Map<string, TypeParser[]>>();

const plain = (v: unknown): v is Plain => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Whether this path can write these parameters; node-postgres's own path takes the others. */
export const writable = (params: unknown[]): params is Param[] =>
  params.every((p) => plain(p) || (Array.isArray(p) && p.every(plain)));

/** An element of an array literal: quoted, its quotes and backslashes escaped (as pg/lib/utils.js does). */
const element = (v: Plain) => {
  if (v === null) return 'NULL';
  const s = String(v);
  return s.includes('"') || s.includes('\\') ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
};
const toText = (v: Param): string | null => (Array.isArray(v) ? `{${v.map(element).join(',')}}` : v === null ? null : String(v));

/**
 * A named statement's execution answered as arrays of columns, for a hot statement (the send
 * batch). node-postgres's Query describes the portal on every execution and builds a row
 * template from the description each time: a tenth of the server's work per batch under load
 * (`perf`, `postgres:ws` at 2,222 msg/s). This asks for the description once per connection
 * and statement, and writes the parameters itself. It is a Submittable (node-postgres's
 * interface for custom queries, as pg-cursor's): the client runs it in turn with its other
 * queries and calls the handlers below.
 */
export class NamedArrayQuery implements pg.Submittable {
  /** Set by the client (pg.Client.query): told of the rows, or of the error. */
  callback?: (err: Error | null, result?: { rows: unknown[][] }) => void;
  private readonly rows: unknown[][] = [];
  private parsers: TypeParser[] | undefined;
  private connection: Connection | undefined;

  constructor(
    readonly name: string,
    readonly text: string,
    private readonly values: Param[],
    private readonly types: Types,
  ) {}

  submit(connection: pg.Connection): Error | null {
    const con = connection as unknown as Connection;
    const previous = con.parsedStatements[this.name] ?? con.submittedNamedStatements[this.name];
    if (previous !== undefined && previous !== this.text) return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`);
    this.connection = con;
    this.parsers = described.get(con)?.get(this.name);
    con.stream.cork?.();
    try {
      if (previous === undefined) {
        con.parse({ text: this.text, name: this.name, types: [] });
        con.submittedNamedStatements[this.name] = this.text;
      }
      try {
        con.bind({ statement: this.name, values: this.values, valueMapper: toText });
      } catch (err) {
        con.close({ type: 'S', name: this.name });
        con.sync();
        this.handleError(err as Error);
        return null;
      }
      if (!this.parsers) con.describe({ type: 'P', name: '' });
      con.execute({});
      con.sync();
    } finally {
      con.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: { dataTypeID: number }[] }) {
    this.parsers = msg.fields.map((f) => this.types.getTypeParser(f.dataTypeID, 'text'));
    const con = this.connection!;
    const statements = described.get(con) ?? new Map<string, TypeParser[]>();
    described.set(con, statements.set(this.name, this.parsers));
  }

  handleDataRow(msg: { fields: (string | null)[] }) {
    const parsers = this.parsers!;
    const fields = msg.fields;
    const row = new Array(fields.length);
    for (let i = 0; i < fields.length; i++) row[i] = fields[i] === null ? null : parsers[i]!(fields[i]!);
    this.rows.push(row);
  }

  handleCommandComplete() {}
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyInResponse(connection: pg.Connection) {
    (connection as unknown as Connection).sendCopyFail('No source stream defined');
  }
  handleCopyData() {}

  /** The client calls this instead of handleReadyForQuery when the statement failed. */
  handleError(err: Error) {
    // Described anew next time: the statement may have been dropped or changed underneath.
    if (this.connection) described.get(this.connection)?.delete(this.name);
    this.callback?.(err);
  }

  handleReadyForQuery() {
    this.callback?.(null, { rows: this.rows });
  }
}
