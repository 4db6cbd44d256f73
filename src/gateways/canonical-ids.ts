import type { Ajv, SchemaValidateFunction } from 'ajv';

/**
 * One form for UUIDs everywhere: lower case. RFC 9562 (§4) reads UUIDs case-insensitively
 * and writes them in lower case; some platforms write upper case (Swift's `uuidString`).
 * Postgres would accept either, but ids are also compared as text (sync cursors, the hub,
 * caches), where "ABC…" and "abc…" would be two conversations. So every UUID a client sends
 * is turned to lower case while its payload is validated, before any service sees it:
 *
 * - `x-lowercase` on a string schema rewrites the value in place;
 * - `x-lowercase-keys` on an object schema rewrites its keys (sync cursors are keyed by
 *   conversation id); two keys that differ only in case are refused.
 *
 * Both keywords are `x-` extensions, so the published schemas stay valid OpenAPI.
 */
function lowercaseKeys(on: boolean, data: Record<string, unknown>): boolean {
  if (!on) return true;
  for (const key of Object.keys(data)) {
    const lower = key.toLowerCase();
    if (lower === key) continue;
    if (Object.hasOwn(data, lower)) {
      (lowercaseKeys as SchemaValidateFunction).errors = [{ keyword: 'x-lowercase-keys', message: `names ${lower} twice (ids are not case-sensitive)`, params: { key } }];
      return false;
    }
    data[lower] = data[key];
    delete data[key];
  }
  return true;
}

export function addCanonicalIdKeywords(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-lowercase',
    type: 'string',
    schemaType: 'boolean',
    modifying: true,
    errors: false,
    validate: (on: boolean, data: string, _schema?: unknown, ctx?: { parentData: Record<string | number, unknown>; parentDataProperty: string | number }) => {
      if (on && ctx?.parentData && typeof ctx.parentData === 'object') ctx.parentData[ctx.parentDataProperty] = data.toLowerCase();
      return true;
    },
  });
  ajv.addKeyword({ keyword: 'x-lowercase-keys', type: 'object', schemaType: 'boolean', modifying: true, errors: true, validate: lowercaseKeys as SchemaValidateFunction });
  return ajv;
}
