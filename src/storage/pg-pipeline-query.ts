import type pg from 'pg';
import { binaryArray } from './binary-arrays.ts';
import type { Statement } from './db.ts';

/** A parameter this path writes itself: text, numbers, NULL, and one-dimensional arrays of them. */
type Plain = string | number | null;
type Param = Plain | Plain[];

export interface PipelineStatement {
  name: string;
  text: string;
  values: Param[];
}

type Listener<M> = (msg: M) => void;
/** The parts of node-postgres's Connection (pg/lib/connection.js) a query drives. */
interface Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { statement: string; values: (string | Buffer | null)[]; valueMapper(v: string | Buffer | null): string | Buffer | null }): void;
  describe(m: { type: 'P' | 'S'; name: string }): void;
  on(event: 'parameterDescription', listener: Listener<{ dataTypeIDs: number[] }>): void;
  on(event: 'parseComplete', listener: Listener<unknown>): void;
  off(event: 'parameterDescription', listener: Listener<{ dataTypeIDs: number[] }>): void;
  off(event: 'parseComplete', listener: Listener<unknown>): void;
  execute(c: object): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

type TypeParser = (text: string) => unknown;
/** node-postgres's type parsers (ClientConfig.types); answers here are always text (Bind asks for it). */
export interface Types {
  getTypeParser(oid: number, format: 'text'): TypeParser;
}

/**
 * What each named statement takes and answers, per connection: its parameters' types and its
 * columns' parsers (none for a statement without rows), learnt from the first execution's
 * description of the statement. A prepared statement's columns cannot change while it is
 * prepared (PostgreSQL refuses: "cached plan must not change result type"), and a new
 * connection prepares it anew.
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

/** The statements as the pipeline query writes them: parameters it cannot write are refused. */
export function pipelineStatements(statements: Statement[]): PipelineStatement[] {
  return statements.map((s) => {
    if (!writable(s.params)) throw new TypeError(`statement ${s.name}: a pipeline takes text, numbers, NULL and arrays of them`);
    return { name: s.name, text: s.text, values: s.params };
  });
}

/** An element of an array literal: quoted, its quotes and backslashes escaped (as pg/lib/utils.js does). */
const element = (v: Plain) => {
  if (v === null) return 'NULL';
  const s = String(v);
  return s.includes('"') || s.includes('\\') ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
};
const toText = (v: Param): string | null => (Array.isArray(v) ? `{${v.map(element).join(',')}}` : v === null ? null : String(v));
const asIs = (v: string | Buffer | null) => v;

/**
 * Named statements executed in order under one Sync, hence in one transaction (the
 * protocol's implicit one, or the caller's), answered as arrays of columns: the send batch.
 * node-postgres's Query runs one statement per Sync, describes the portal on every execution
 * and builds a row template from the description each time: a tenth of the server's work per
 * batch under load (`perf`, `postgres:ws` at 2,222 msg/s). This asks for each statement's
 * description once per connection and writes the parameters itself: arrays in binary once the
 * description has given their types (binary-arrays.ts). It is a Submittable
 * (node-postgres's interface for custom queries, as pg-cursor's): the client runs it in turn
 * with its other queries and calls the handlers below.
 */
export class PipelineQuery implements pg.Submittable {
  /** Set by the client's caller: told of each statement's rows, or of the error. */
  callback?: (err: Error | null, results?: unknown[][][]) => void;
  private readonly results: unknown[][][];
  /** The statement whose answers arrive now: how many have completed. */
  private current = 0;
  private readonly parsers: (TypeParser[] | undefined)[];
  /** The statements described by this execution, by position: what arrived of their description. */
  private readonly learning = new Map<number, { params: number[]; parsers: TypeParser[] }>();
  /** The statements parsed by this execution, in order, until their ParseComplete arrives. */
  private readonly parsing: PipelineStatement[] = [];
  private connection: Connection | undefined;
  private listening = false;
  private readonly onParameterDescription = (msg: { dataTypeIDs: number[] }) => {
    const learnt = this.learning.get(this.current);
    if (learnt) learnt.params = msg.dataTypeIDs;
  };
  private readonly onParseComplete = () => {
    const statement = this.parsing.shift();
    if (!statement || !this.connection) return;
    this.connection.parsedStatements[statement.name] = statement.text;
    delete this.connection.submittedNamedStatements[statement.name];
  };

  constructor(
    private readonly statements: PipelineStatement[],
    private readonly types: Types,
  ) {
    this.results = statements.map(() => []);
    this.parsers = new Array(statements.length);
  }

  submit(connection: pg.Connection): Error | null {
    const con = connection as unknown as Connection;
    const known = described.get(con);
    // Everything is checked and encoded before the first message is written: a pipeline cut
    // short by a throw would still reach a Sync and commit what was sent of it.
    const sends = [];
    /** Statements this pipeline parses: a name repeated in it is parsed once. */
    const parsed = new Map<string, string>();
    for (const [k, s] of this.statements.entries()) {
      const previous = con.parsedStatements[s.name] ?? con.submittedNamedStatements[s.name] ?? parsed.get(s.name);
      if (previous !== undefined && previous !== s.text) return new Error(`Prepared statements must be unique - '${s.name}' was used for a different statement`);
      if (previous === undefined) parsed.set(s.name, s.text);
      const description = known?.get(s.name);
      this.parsers[k] = description?.parsers;
      // The first execution describes the statement (its parameters, then its columns) and
      // sends its arrays as text; the later ones send them in binary where they can.
      const params = description?.params;
      const values = s.values.map((v, i) => (params && Array.isArray(v) ? (binaryArray(params[i], v) ?? toText(v)) : toText(v)));
      sends.push({ s, parse: previous === undefined, describe: !description, values });
    }
    this.connection = con;
    // Listening only while something is learnt: most executions parse and describe nothing.
    this.listening = sends.some((x) => x.parse || x.describe);
    if (this.listening) {
      con.on('parameterDescription', this.onParameterDescription);
      con.on('parseComplete', this.onParseComplete);
    }
    con.stream.cork?.();
    try {
      for (const [k, { s, parse, describe, values }] of sends.entries()) {
        if (parse) {
          con.parse({ text: s.text, name: s.name, types: [] });
          con.submittedNamedStatements[s.name] = s.text;
          this.parsing.push(s);
        }
        if (describe) {
          this.learning.set(k, { params: [], parsers: [] });
          con.describe({ type: 'S', name: s.name });
        }
        con.bind({ statement: s.name, values, valueMapper: asIs });
        con.execute({});
      }
      con.sync();
    } finally {
      con.stream.uncork?.();
    }
    return null;
  }

  /** The current statement's columns (text: Bind asks for every column as text), after its parameters. */
  handleRowDescription(msg: { fields: { dataTypeID: number }[] }) {
    const parsers = msg.fields.map((f) => this.types.getTypeParser(f.dataTypeID, 'text'));
    this.parsers[this.current] = parsers;
    const learnt = this.learning.get(this.current);
    if (learnt) learnt.parsers = parsers;
  }

  handleDataRow(msg: { fields: (string | null)[] }) {
    const parsers = this.parsers[this.current]!;
    const fields = msg.fields;
    const row = new Array(fields.length);
    for (let i = 0; i < fields.length; i++) row[i] = fields[i] === null ? null : parsers[i]!(fields[i]!);
    this.results[this.current]!.push(row);
  }

  handleCommandComplete() {
    const learnt = this.learning.get(this.current);
    if (learnt) {
      const con = this.connection!;
      const statements = described.get(con) ?? new Map<string, Description>();
      described.set(con, statements.set(this.statements[this.current]!.name, learnt));
    }
    this.current++;
  }
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyInResponse(connection: pg.Connection) {
    (connection as unknown as Connection).sendCopyFail('No source stream defined');
  }
  handleCopyData() {}

  private stopListening() {
    if (!this.listening) return;
    this.listening = false;
    this.connection?.off('parameterDescription', this.onParameterDescription);
    this.connection?.off('parseComplete', this.onParseComplete);
  }

  /** The client calls this instead of handleReadyForQuery when a statement failed. */
  handleError(err: Error) {
    this.stopListening();
    const con = this.connection;
    if (con) {
      // Parsed statements whose ParseComplete never came were not prepared; and every
      // statement is described anew next time: one may have been dropped or changed underneath.
      for (const s of this.parsing) delete con.submittedNamedStatements[s.name];
      for (const s of this.statements) described.get(con)?.delete(s.name);
    }
    this.callback?.(err);
  }

  handleReadyForQuery() {
    this.stopListening();
    this.callback?.(null, this.results);
  }
}

/** Runs the statements on a node-postgres client, as one exchange and one transaction. */
export function runPipeline(client: pg.ClientBase, statements: PipelineStatement[], types: Types): Promise<unknown[][][]> {
  const query = new PipelineQuery(statements, types);
  return new Promise((resolve, reject) => {
    query.callback = (err, results) => (err ? reject(err) : resolve(results!));
    void client.query(query);
  });
}
