import type pg from 'pg';
import { binaryArray } from './binary-arrays.ts';

/** A parameter this path writes itself: text, numbers, NULL, and one-dimensional arrays of them. */
type Plain = string | number | null;
export type Param = Plain | Plain[];

/** The parts of node-postgres's Connection (pg/lib/connection.js) a query drives. */
interface Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { statement: string; values: Param[]; valueMapper(v: Param, index: number): string | Buffer | null }): void;
  describe(m: { type: 'P' | 'S'; name: string }): void;
  on(event: 'parameterDescription', listener: (msg: { dataTypeIDs: number[] }) => void): void;
  off(event: 'parameterDescription', listener: (msg: { dataTypeIDs: number[] }) => void): void;
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
 * What each named statement takes and answers, per connection: its parameters' types and its
 * columns' parsers, learnt from the first execution's description of the statement. A
 * prepared statement's columns cannot change while it is prepared (PostgreSQL refuses:
 * "cached plan must not change result type"), and a new connection prepares it anew.
 */
interface Description {
  params: number[];
  parsers: TypeParser[];
}
const described = new WeakMap<Connection, Map<string, Description>>();

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
 * and statement, and writes the parameters itself: arrays in binary once the description
 * has given their types (binary-arrays.ts). It is a Submittable (node-postgres's
 * interface for custom queries, as pg-cursor's): the client runs it in turn with its other
 * queries and calls the handlers below.
 */
export class NamedArrayQuery implements pg.Submittable {
  /** Set by the client (pg.Client.query): told of the rows, or of the error. */
  callback?: (err: Error | null, result?: { rows: unknown[][] }) => void;
  private readonly rows: unknown[][] = [];
  /** The parameters' types, while this execution describes the statement. */
  private params: number[] = [];
  private parsers: TypeParser[] | undefined;
  private connection: Connection | undefined;
  private readonly onParameterDescription = (msg: { dataTypeIDs: number[] }) => {
    this.params = msg.dataTypeIDs;
  };

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
    const description = described.get(con)?.get(this.name);
    this.parsers = description?.parsers;
    con.stream.cork?.();
    try {
      if (previous === undefined) {
        con.parse({ text: this.text, name: this.name, types: [] });
        con.submittedNamedStatements[this.name] = this.text;
      }
      // The first execution describes the statement (its parameters, then its columns) and
      // sends its arrays as text; the later ones send them in binary where they can.
      if (!description) {
        con.on('parameterDescription', this.onParameterDescription);
        con.describe({ type: 'S', name: this.name });
      }
      const params = description?.params;
      try {
        con.bind({
          statement: this.name,
          values: this.values,
          valueMapper: (v, i) => (params && Array.isArray(v) ? (binaryArray(params[i], v) ?? toText(v)) : toText(v)),
        });
      } catch (err) {
        con.close({ type: 'S', name: this.name });
        con.sync();
        this.handleError(err as Error);
        return null;
      }
      con.execute({});
      con.sync();
    } finally {
      con.stream.uncork?.();
    }
    return null;
  }

  /** The statement's columns (text: Bind asks for every column as text), after its parameters. */
  handleRowDescription(msg: { fields: { dataTypeID: number }[] }) {
    this.parsers = msg.fields.map((f) => this.types.getTypeParser(f.dataTypeID, 'text'));
    const con = this.connection!;
    const statements = described.get(con) ?? new Map<string, Description>();
    described.set(con, statements.set(this.name, { params: this.params, parsers: this.parsers }));
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
    if (this.connection) {
      this.connection.off('parameterDescription', this.onParameterDescription);
      described.get(this.connection)?.delete(this.name);
    }
    this.callback?.(err);
  }

  handleReadyForQuery() {
    this.connection?.off('parameterDescription', this.onParameterDescription);
    this.callback?.(null, { rows: this.rows });
  }
}
