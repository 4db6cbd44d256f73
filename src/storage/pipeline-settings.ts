import type { Settings, Statement } from './db.ts';

/**
 * A pipeline's settings (Queryable.pipeline) as statements around it. `set_config` with
 * is_local holds a setting until the transaction ends: at the Sync, for a pipeline that is its
 * own transaction; in the caller's transaction, a last statement puts back the session's
 * values for what the caller runs after it.
 */
const setLocal = (settings: Settings): Statement => ({
  name: 'parley_settings_set',
  text: 'SELECT set_config(s.name, s.value, true) FROM unnest($1::text[], $2::text[]) AS s(name, value)',
  params: [Object.keys(settings), Object.values(settings)],
});

const putBack = (settings: Settings): Statement => ({
  name: 'parley_settings_put_back',
  text: 'SELECT set_config(s.name, s.reset_val, true) FROM pg_settings s WHERE s.name = ANY ($1::text[])',
  params: [Object.keys(settings)],
});

/**
 * For the whole session, on a connection of one caller's own (pg-one-connection.ts): these
 * settings, and the session's own values back for those the connection held before and these
 * do not name.
 */
export const setForSession = (settings: Settings, before: Settings = {}): Statement => ({
  name: 'parley_settings_set_session',
  text: `SELECT set_config(s.name, coalesce(n.value, s.reset_val), false) FROM pg_settings s
    LEFT JOIN unnest($1::text[], $2::text[]) AS n(name, value) ON n.name = s.name WHERE s.name = ANY ($3::text[])`,
  params: [Object.keys(settings), Object.values(settings), [...new Set([...Object.keys(before), ...Object.keys(settings)])]],
});

/** Whether the settings change anything. */
const anySettings = (settings: Settings | undefined): settings is Settings => settings !== undefined && Object.keys(settings).length > 0;

/**
 * The statements with their settings around them; `from` is where the caller's own answers
 * start in the results.
 */
export function framed(statements: Statement[], settings: Settings | undefined, inTransaction: boolean): { statements: Statement[]; from: number } {
  if (!anySettings(settings)) return { statements, from: 0 };
  return { statements: [setLocal(settings), ...statements, ...(inTransaction ? [putBack(settings)] : [])], from: 1 };
}

/** The caller's answers out of a framed pipeline's. */
export const unframed = (results: unknown[][][], from: number, count: number) => results.slice(from, from + count);
