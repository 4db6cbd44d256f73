/**
 * JSON numbers Parley keeps exactly. JSON.parse turns `1e400` into Infinity (stored as
 * null), `9007199254740993` into ...992 and `1e-400` into 0, all silently; like Matrix
 * (M_BAD_JSON) such numbers are refused instead: finite, integers within ±(2^53 − 1)
 * (every double beyond that is an integer, so this bounds all numbers), no underflow.
 */
export function isExactNumber(n: number): boolean {
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER;
}

const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export interface JsonScan {
  /** The [ / { nesting passed `maxDepth` (the scan stopped there). */
  tooDeep: boolean;
  /** The first number literal JSON.parse would not keep exactly, or null. */
  inexact: string | null;
}

/** Whether the quote at `at` is escaped: an odd number of backslashes right before it. */
function escaped(text: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && text.charCodeAt(k) === 92 /* \\ */) k--;
  return (at - 1 - k) % 2 === 1;
}

/**
 * One linear pass over a JSON text, outside strings, with no recursion: how deep it nests
 * (checked before the parser recurses) and whether a number literal is inexact, which
 * parsing hides (an underflow reads as 0). Syntax errors are left to JSON.parse.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let depth = 0;
  let inexact: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Most of a frame is inside strings: jump to the closing quote (one that an odd run
      // of backslashes does not escape) with the native search, not char by char.
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && escaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) break; // unterminated: JSON.parse reports it
      i = end;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return { tooDeep: true, inexact };
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
    else if (inexact === null && (c === 45 /* - */ || (c >= 48 && c <= 57))) {
      NUMBER_TOKEN.lastIndex = i;
      const token = NUMBER_TOKEN.exec(text)?.[0];
      if (!token) continue;
      const n = Number(token);
      if (!isExactNumber(n) || (n === 0 && /[1-9]/.test(token.split(/[eE]/)[0]!))) inexact = token.length > 40 ? `${token.slice(0, 37)}...` : token;
      i += token.length - 1;
    }
  }
  return { tooDeep: false, inexact };
}
