import sjson from 'secure-json-parse';
import { LIMITS } from '../../protocol/limits.ts';
import { findUnstorableString, isStorableText } from '../domain/text.ts';
import { AppError } from '../errors.ts';
import { isExactNumber, scanJson } from './json-scan.ts';

const outOfRange = (what: string) =>
  new AppError('number_out_of_range', `${what} is out of range: JSON numbers must be finite, within ±9007199254740991, and not round to 0`);

/**
 * Parses client JSON for every gateway: depth bounded before the parser recurses,
 * `__proto__` and `constructor.prototype` refused rather than stripped, numbers JSON.parse
 * would not keep exactly refused, and strings Postgres cannot store faithfully (NUL, lone
 * surrogates) refused with their path.
 */
export function parseClientJson(text: string): unknown {
  const scan = scanJson(text, LIMITS.jsonMaxDepth);
  if (scan.tooDeep) {
    throw new AppError('json_too_deep', `JSON may nest at most ${LIMITS.jsonMaxDepth} levels`);
  }
  // Most frames are plain: no \u escape, no BOM, neither forbidden key's name anywhere, no NUL
  // or lone surrogate. A key is spelled in the text or with \u escapes, and only a \u escape
  // makes a NUL or a lone surrogate out of a text without one, so such a frame can hold no
  // forbidden key and no bad string: JSON.parse reads it, and neither secure-json-parse's two
  // regular expressions nor the walk over every value (a path built for each) runs.
  // (Native substring scans: about 0.7 µs less per send frame, npm run bench:json.)
  const plain =
    text.charCodeAt(0) !== 0xfeff && !text.includes('\\u') && !text.includes('__proto__') && !text.includes('constructor') && isStorableText(text);
  let value: unknown;
  try {
    value = plain ? JSON.parse(text) : sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    if (err instanceof SyntaxError && /prototype|__proto__/i.test(err.message)) throw new AppError('forbidden_key');
    throw new AppError('invalid_json');
  }
  if (scan.inexact) throw outOfRange(`The number ${scan.inexact}`);
  if (plain) return value;
  const bad = findUnstorableString(value);
  if (bad) throw new AppError('invalid_text', `A string at ${bad} holds a NUL character or a lone surrogate`);
  return value;
}

/**
 * The same rules for a value some library already parsed (Socket.IO packets): depth
 * bounded, no `__proto__` / `constructor.prototype` keys, exact numbers (an underflow to 0
 * can no longer be seen here), storable strings. Iterative, so
 * a hostile nesting cannot exhaust the stack here.
 */
export function assertCleanValue(root: unknown): void {
  assertCleanLeaf(root, '');
  if (!root || typeof root !== 'object') return;
  // Objects wait on the stack with their depth and path; strings and numbers are checked
  // where they are met, so a command of plain fields makes no path for each of them (every
  // command passes here: about 3% of the server's allocations under load, issue 9).
  const stack: [object, number, string][] = [[root, 0, '']];
  while (stack.length) {
    const [value, depth, path] = stack.pop()!;
    if (depth >= LIMITS.jsonMaxDepth) throw new AppError('json_too_deep', `JSON may nest at most ${LIMITS.jsonMaxDepth} levels`);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
        throw new AppError('forbidden_key');
      }
      if (!isStorableText(key)) throw new AppError('invalid_text', `A key at ${path || '/'} holds a NUL character or a lone surrogate`);
      if (child && typeof child === 'object') stack.push([child, depth + 1, `${path}/${key}`]);
      else if (!isCleanLeaf(child)) assertCleanLeaf(child, `${path}/${key}`);
    }
  }
}

const isCleanLeaf = (value: unknown) =>
  typeof value === 'string' ? isStorableText(value) : typeof value !== 'number' || isExactNumber(value);

/** A string or number at `path` ('' for the root) that would not be stored faithfully is refused. */
function assertCleanLeaf(value: unknown, path: string): void {
  if (typeof value === 'string' && !isStorableText(value)) throw new AppError('invalid_text', `A string at ${path || '/'} holds a NUL character or a lone surrogate`);
  if (typeof value === 'number' && !isExactNumber(value)) throw outOfRange(`The number at ${path || '/'}`);
}
