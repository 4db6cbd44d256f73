import type { Db } from './db.ts';

export interface VacuumOptions {
  /** How often the tables are looked at (PARLEY_EMBEDDED_VACUUM_INTERVAL_MS). */
  intervalMs: number;
  /** Transactions after which a table is frozen whatever else it needs. */
  freezeAge?: number;
  /** A pass failed (it is tried again at the next interval). */
  onError?(err: unknown): void;
}

/** Half of autovacuum_freeze_max_age's default: frozen long before PostgreSQL would insist. */
const FREEZE_AGE = 100_000_000;

/**
 * What each table needs, by autovacuum's own default rules: VACUUM once dead row versions
 * pass 50 + 20% of the live ones (or inserts 1,000 + 20%: the visibility map, which lets
 * later passes skip pages), ANALYZE once changes pass 50 + 10%, and a freeze once the oldest
 * unfrozen transaction is `freezeAge` old. Catalogs included: the database's frozen horizon
 * is the oldest of all its tables.
 */
const DUE = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
    age(c.relfrozenxid) > $1 AS freeze,
    (coalesce(s.n_dead_tup, 0) > 50 + 0.2 * coalesce(s.n_live_tup, 0)
      OR coalesce(s.n_ins_since_vacuum, 0) > 1000 + 0.2 * coalesce(s.n_live_tup, 0)) AS vacuum,
    coalesce(s.n_mod_since_analyze, 0) > 50 + 0.1 * coalesce(s.n_live_tup, 0) AS analyze
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' -- temporary tables end with their session
  ORDER BY age(c.relfrozenxid) DESC`;

type Due = { name: string; freeze: boolean; vacuum: boolean; analyze: boolean };

/**
 * One pass: each table that needs it, one statement at a time (other queries go in between),
 * until `stopped` says to leave the rest for later.
 */
export async function vacuumDue(db: Db, freezeAge = FREEZE_AGE, stopped = () => false): Promise<number> {
  // Statistics reach the shared counters at most once a second (between statements): ask
  // for the last second's, so the pass judges by every change so far.
  await db.query('SELECT pg_stat_force_next_flush()');
  const due = await db.query<Due>(DUE, [freezeAge]);
  let done = 0;
  for (const t of due) {
    if (stopped()) break;
    const options = [t.freeze && 'FREEZE', t.analyze && 'ANALYZE'].filter(Boolean).join(', ');
    if (t.freeze || t.vacuum) await db.query(`VACUUM ${options ? `(${options}) ` : ''}${t.name}`);
    else if (t.analyze) await db.query(`ANALYZE ${t.name}`);
    else continue;
    done++;
  }
  return done;
}

/**
 * PGlite is PostgreSQL in single-user mode, where no autovacuum runs. Without VACUUM no row
 * is ever frozen, and single-user mode does not refuse writes at the wraparound limit as a
 * server does: after about two billion write transactions, old rows would turn invisible.
 * Dead row versions would also pile up for good (every send updates its conversation and
 * the sender's markers; the job queue deletes what it finished), and the planner would
 * never have statistics. So the embedded store keeps to autovacuum's rules itself, every
 * `intervalMs`. A pass takes milliseconds when little changed (the visibility map skips
 * untouched pages); it shares PGlite's one connection, so sends wait while a statement runs.
 */
export function startEmbeddedVacuum(db: Db, opts: VacuumOptions) {
  let running: Promise<void> | null = null;
  let stopped = false;
  const pass = () => {
    running = vacuumDue(db, opts.freezeAge, () => stopped).then(
      () => {},
      (err) => opts.onError?.(err),
    );
    void running.finally(() => {
      running = null;
      if (!stopped) timer.refresh();
    });
  };
  // Re-armed after each pass, so passes never overlap however long one takes.
  const timer = setTimeout(pass, opts.intervalMs);
  timer.unref();
  return {
    /** Waits for the statement under way (a pass stops after it), and runs no more. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
