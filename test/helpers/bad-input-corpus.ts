

/**
 * A corpus of malformed requests for every REST route. Each route has a valid baseline
 * request; every case changes one thing in it, so a rejection is caused by that thing.
 */

import { type Case, type FieldKind, type Fixture, type Method, type ParamKind, ROUTES, type RouteSpec, U, VALIDATION } from './bad-input-routes.ts';

export { ROUTES };
export type { Case, Fixture, Method, RouteSpec };
const NOT_STRING: unknown[] = [12345, 1.5, true, false, null, [], ['x'], {}, { a: 'x' }];
const WRONG_TYPES: Record<FieldKind, unknown[]> = {
  string: NOT_STRING,
  nullableString: NOT_STRING.filter((v) => v !== null),
  enum: [...NOT_STRING, 'owner', 'GROUP', 'nonsense'],
  uuid: [...NOT_STRING, 'not-a-uuid', '5'],
  dateTime: [...NOT_STRING, '5', 1735689600000],
  int: ['5', '1', 1.5, -1, -0.5, null, true, false, [], [1], {}, { n: 1 }],
  boolean: ['true', 'false', 0, 1, null, [], {}, 'x'],
  array: ['x', 5, true, null, {}, { 0: 'x' }, [5], [null], [true], [[]], [{}]],
  object: ['x', '5', 5, 1.5, true, null, [], ['x'], [{ a: 1 }]],
  nullableObject: ['x', '5', 5, 1.5, true, [], ['x'], [{ a: 1 }]],
};
/** Numbers JSON.parse would not keep exactly: overflow to Infinity, beyond 2^53, underflow to 0. */
const INEXACT_NUMBERS = ['9007199254740993', '-9007199254740993', '9007199254740992', '1e400', '-1e400', '1E2000', '1e300', '1152921504606846976', '1e-400', '12345678901234567890.5'];
/** Byte sequences that are not UTF-8 (a decoder would turn each into U+FFFD). */
const BAD_UTF8: [string, number[]][] = [
  ['a lone continuation byte', [0x80]],
  ['0xFF', [0xff]],
  ['a cut 3-byte sequence', [0xe2, 0x82]],
  ['an overlong "/"', [0xc0, 0xaf]],
  ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['Latin-1 "é"', [0xe9]],
];
const STRINGY: FieldKind[] = ['string', 'nullableString', 'enum', 'uuid', 'dateTime'];

const BAD_PARAMS: Record<ParamKind, string[]> = {
  uuid: [
    'not-a-uuid',
    encodeURIComponent("1' OR '1'='1"),
    "1'%20OR%20'1'='1",
    '..%2F..%2Fetc%2Fpasswd',
    '%2E%2E',
    'a'.repeat(301),
    'a'.repeat(10_000),
    '%ZZ',
    '%ED%A0%80',
    '%00',
    `urn:uuid:${U}`,
    `%7B${U}%7D`,
    `${U}%00`,
    `${U}%20`,
    '00000000-0000-0000-0000-000000000000',
    '-1',
  ],
  userId: ['bad%20id', encodeURIComponent("1' OR '1'='1"), '..%2Fx', 'a'.repeat(129), 'a'.repeat(10_000), '%ZZ', '%00', '%C3%BC', '%ED%A0%80'],
  emoji: ['%20', '%00', '%0A', '%09', 'x'.repeat(33), 'x'.repeat(10_000), '%ZZ', '%ED%A0%80', "%27%20OR%20'1'%3D'1"],
};

const BAD_ACTING = ['bad id', 'a'.repeat(129), "1' OR '1'='1", '../etc', 'x/y', ''];
const BAD_AUTH = [
  'Bearer',
  'Basic YWxhZGRpbjpvcGVu',
  'Bearer a b',
  'Bearer not.a.jwt',
  `Bearer ${'x'.repeat(20_000)}`,
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.',
];

const fillPath = (path: string, params: Record<string, string>): string =>
  path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
const queryString = (q: Record<string, string> | undefined): string =>
  q && Object.keys(q).length ? `?${new URLSearchParams(q).toString()}` : '';
/** JSON text of `body` with `key` set to the raw JSON text `raw` (for what JSON.stringify cannot write). */
const withRaw = (body: Record<string, unknown>, key: string, raw: string): string =>
  JSON.stringify({ ...body, [key]: '\u0001RAW' }).replace('"\\u0001RAW"', raw);
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...(${s.length})` : s;
};

/** Every malformed case for every route, in named groups. */
export function buildCorpus(f: Fixture): Case[] {
  const cases: Case[] = [];
  // Bodies sent to routes that take none, run in reverse route order: should one be obeyed,
  // DELETE /v1/messages/:id comes after the reaction route, which still sees its message.
  const bodiless: Case[] = [];
  for (const r of ROUTES) {
    const b = r.baseline(f);
    const params = b.params ?? {};
    const url = fillPath(r.path, params) + queryString(b.query);
    const label = `${r.method} ${r.path}`;
    const add = (group: string, what: string, c: Partial<Case>) =>
      cases.push({ group, name: `${label} ${what}`, route: r.path, caller: r.caller, method: r.method, url, ...c });
    const body = b.body;
    let utf8Done = false;

    for (const [name, field] of Object.entries(r.fields ?? {})) {
      if (!body) break;
      const set = (v: unknown) => JSON.stringify({ ...body, [name]: v });
      for (const v of WRONG_TYPES[field.kind]) add('wrong types', `${name}=${show(v)}`, { body: set(v), codes: VALIDATION });
      if (field.required) {
        const { [name]: _, ...rest } = body;
        add('missing fields', `without ${name}`, { body: JSON.stringify(rest), codes: VALIDATION });
      }
      if (STRINGY.includes(field.kind)) {
        add('empty strings', `${name}=""`, { body: set(''), codes: VALIDATION });
        const base = typeof body[name] === 'string' ? (body[name] as string) : 'x';
        add('NUL and lone surrogates', `${name} with NUL`, { body: set(`${base}\u0000`), codes: ['invalid_text'] });
        add('NUL and lone surrogates', `${name} with \\ud800`, { body: set(`${base}\ud800`), codes: ['invalid_text'] });
        add('NUL and lone surrogates', `${name}=\\udfff`, { body: set('\udfff'), codes: ['invalid_text'] });
        add('huge strings', `${name} of 1 MB`, { body: set('x'.repeat(1 << 20)), codes: ['payload_too_large'] });
      }
      if (field.kind === 'array') {
        add('empty strings', `${name}=[""]`, { body: set(['']), codes: VALIDATION });
        add('NUL and lone surrogates', `${name} item with NUL`, { body: set(['x\u0000']), codes: ['invalid_text'] });
      }
      if (field.kind === 'object' || field.kind === 'nullableObject') {
        add('NUL and lone surrogates', `${name} key with NUL`, { body: set({ 'k\u0000': 1 }), codes: ['invalid_text'] });
        add('NUL and lone surrogates', `${name} value with \\ud800`, { body: set({ k: 'v\ud800' }), codes: ['invalid_text'] });
        add('prototype keys', `${name}.__proto__`, { body: withRaw(body, name, '{"__proto__":{"polluted":true}}'), codes: ['forbidden_key'] });
        add('prototype keys', `${name}.constructor.prototype`, {
          body: withRaw(body, name, '{"constructor":{"prototype":{"polluted":true}}}'),
          codes: ['forbidden_key'],
        });
        add('JSON syntax and shape', `${name} nested 40 deep`, { body: withRaw(body, name, `{"a":${'['.repeat(40)}${']'.repeat(40)}}`), codes: ['json_too_deep'] });
      }
      if (field.kind === 'int') {
        for (const raw of INEXACT_NUMBERS) add('numbers', `${name}=${raw} (raw)`, { body: withRaw(body, name, raw), codes: ['number_out_of_range'] });
        add('numbers', `${name}=-0.0000001 (raw)`, { body: withRaw(body, name, '-0.0000001'), codes: VALIDATION });
      }
      if (field.kind === 'object' || field.kind === 'nullableObject') {
        // Free-form values (metadata, data) are where an inexact number would be stored silently.
        for (const raw of INEXACT_NUMBERS) {
          add('numbers', `${name}.n=${raw} (raw)`, { body: withRaw(body, name, `{"n":${raw}}`), codes: ['number_out_of_range'] });
          add('numbers', `${name}.list=[1,${raw}] (raw)`, { body: withRaw(body, name, `{"list":[1,{"deep":${raw}}]}`), codes: ['number_out_of_range'] });
        }
      }
      if (STRINGY.includes(field.kind) && !utf8Done) {
        utf8Done = true;
        const base = typeof body[name] === 'string' ? (body[name] as string) : 'x';
        const [head, tail] = JSON.stringify({ ...body, [name]: `${base}\u0001CUT` }).split('\\u0001CUT');
        for (const [what, bytes] of BAD_UTF8)
          add('invalid UTF-8', `${name} with ${what}`, { body: Buffer.concat([Buffer.from(head!), Buffer.from(bytes), Buffer.from(tail!)]), codes: ['invalid_text'] });
      }
      if (field.tooLong !== undefined) add('too long', `${name} too long`, { body: set(field.tooLong), codes: VALIDATION });
      for (const v of field.bad ?? []) add('field rules', `${name}=${show(v)}`, { body: set(v) });
    }

    if (body) {
      const text = JSON.stringify(body);
      add('unknown keys', 'extra top-level key', { body: JSON.stringify({ ...body, extra: 1 }), codes: VALIDATION });
      add('unknown keys', 'extra key named like a SQL fragment', { body: JSON.stringify({ ...body, "1' OR '1'='1": 1 }), codes: VALIDATION });
      add('huge strings', '1 MB body', { body: JSON.stringify({ ...body, pad: 'x'.repeat(1 << 20) }), codes: ['payload_too_large'] });
      for (const bad of ['{', '{"a":}', "{'a':1}", '{"a":1,}', 'NaN', '{"a":1}{"b":2}', `${text.slice(0, -1)}`, 'undefined', '\u0000'])
        add('JSON syntax and shape', `invalid JSON ${show(bad)}`, { body: bad, codes: ['invalid_json'] });
      for (const top of ['null', '[]', '[{}]', '5', '"x"', 'true'])
        add('JSON syntax and shape', `top-level ${top}`, { body: top, codes: VALIDATION });
      add('JSON syntax and shape', 'objects nested 1000 deep', { body: `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`, codes: ['json_too_deep'] });
      add('JSON syntax and shape', 'arrays nested 1000 deep', { body: `${'['.repeat(1000)}${']'.repeat(1000)}`, codes: ['json_too_deep'] });
      add('JSON syntax and shape', 'unclosed nesting 100000 deep', { body: '['.repeat(100_000), codes: ['json_too_deep'] });
      add('prototype keys', 'top-level __proto__', { body: `{"__proto__":{"polluted":true},${text.slice(1)}`, codes: ['forbidden_key'] });
      add('prototype keys', 'top-level constructor.prototype', {
        body: `{"constructor":{"prototype":{"polluted":true}},${text.slice(1)}`,
        codes: ['forbidden_key'],
      });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', ''])
        add('content types', `as ${show(type)}`, { body: text, headers: { 'content-type': type }, codes: ['unsupported_media_type'] });
      if (r.bodyRequired) {
        add('missing fields', 'body {}', { body: '{}', codes: VALIDATION });
        add('missing fields', 'empty JSON body', { body: '', codes: VALIDATION });
        add('missing fields', 'no body at all', { codes: VALIDATION });
      }
    } else if (r.method !== 'GET') {
      bodiless.unshift({ group: 'unknown keys', name: `${label} body on a route that takes none`, route: r.path, caller: r.caller, method: r.method, url, body: '{"extra":1}', codes: VALIDATION });
    }

    for (const [name, kind] of Object.entries(r.params ?? {})) {
      for (const raw of BAD_PARAMS[kind]) {
        const bad = r.path.replace(/:(\w+)/g, (_, p: string) => (p === name ? raw : encodeURIComponent(params[p] ?? '')));
        add('path ids', `:${name}=${show(raw)}`, { url: bad + queryString(b.query), ...(body ? { body: JSON.stringify(body) } : {}) });
      }
    }

    for (const [name, values] of Object.entries(r.query ?? {})) {
      for (const v of values) add('query strings', `${name}=${show(v)}`, { url: fillPath(r.path, params) + queryString({ ...b.query, [name]: v }), codes: VALIDATION });
    }
    if (r.query) {
      const base = fillPath(r.path, params) + (queryString(b.query) || '?');
      for (const raw of ['limit=1&limit=2', 'foo=1', '__proto__=1', 'constructor%5Bprototype%5D%5Bx%5D=1', 'limit%5B%5D=1'])
        add('query strings', `baseline & ${raw}`, { url: `${base}&${raw}`, codes: VALIDATION });
    }

    const payload = body ? { body: JSON.stringify(body) } : {};
    if (r.caller === 'user') {
      for (const acting of BAD_ACTING)
        add('acting user and credentials', `X-Parley-User=${show(acting)}`, { caller: 'admin', headers: { 'x-parley-user': acting }, codes: VALIDATION, ...payload });
      add('acting user and credentials', 'admin key without X-Parley-User', { caller: 'admin', codes: ['acting_user_required'], ...payload });
    }
    for (const auth of BAD_AUTH)
      add('acting user and credentials', `Authorization=${show(auth)}`, { headers: { authorization: auth }, codes: ['token_invalid', 'auth_required'], ...payload });
  }
  return [...cases, ...bodiless];
}
