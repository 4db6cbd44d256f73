/**
 * Postgres text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8 without
 * silently turning into U+FFFD: both are refused at the edge rather than mangled.
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/** At most `max` code points (never half a surrogate pair), with an ellipsis when cut. */
export function clip(s: string, max: number, ellipsis = '…'): string {
  const points = [...s];
  return points.length > max ? `${points.slice(0, max - ellipsis.length).join('')}${ellipsis}` : s;
}

/** Walks a parsed JSON value (its depth already bounded) and reports the first bad string. */
export function findUnstorableString(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path || '/';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findUnstorableString(value[i], `${path}/${i}`);
      if (bad) return bad;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isStorableText(k)) return `${path}/${k}`;
      const bad = findUnstorableString(v, `${path}/${k}`);
      if (bad) return bad;
    }
  }
  return null;
}
