import sjson from 'secure-json-parse';
import { LIMITS } from '../../protocol/limits.ts';
import { findUnstorableString, isStorableText } from '../domain/text.ts';
import { AppError } from '../errors.ts';

/** Deepest [ / { nesting in a JSON text, found by one linear scan with no recursion. */
export function jsonDepth(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/**
 * Parses client JSON for every gateway: depth bounded before the parser recurses,
 * `__proto__` and `constructor.prototype` refused rather than stripped, and strings
 * Postgres cannot store faithfully (NUL, lone surrogates) refused with their path.
 */
export function parseClientJson(text: string): unknown {
  if (jsonDepth(text, LIMITS.jsonMaxDepth) > LIMITS.jsonMaxDepth) {
    throw new AppError('json_too_deep', `JSON may nest at most ${LIMITS.jsonMaxDepth} levels`);
  }
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    if (err instanceof SyntaxError && /prototype|__proto__/i.test(err.message)) throw new AppError('forbidden_key');
    throw new AppError('invalid_json');
  }
  const bad = findUnstorableString(value);
  if (bad) throw new AppError('invalid_text', `A string at ${bad} holds a NUL character or a lone surrogate`);
  return value;
}

/**
 * The same rules for a value some library already parsed (Socket.IO packets): depth
 * bounded, no `__proto__` / `constructor.prototype` keys, storable strings. Iterative, so
 * a hostile nesting cannot exhaust the stack here.
 */
export function assertCleanValue(root: unknown): void {
  const stack: [unknown, number, string][] = [[root, 0, '']];
  while (stack.length) {
    const [value, depth, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (!isStorableText(value)) throw new AppError('invalid_text', `A string at ${path || '/'} holds a NUL character or a lone surrogate`);
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (depth >= LIMITS.jsonMaxDepth) throw new AppError('json_too_deep', `JSON may nest at most ${LIMITS.jsonMaxDepth} levels`);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
        throw new AppError('forbidden_key');
      }
      if (!isStorableText(key)) throw new AppError('invalid_text', `A key at ${path || '/'} holds a NUL character or a lone surrogate`);
      stack.push([child, depth + 1, `${path}/${key}`]);
    }
  }
}
