import assert from 'node:assert/strict';

/** Asserts that `value` and everything reachable from it is frozen. */
export function assertDeepFrozen(value: unknown, where = 'config'): void {
  if (!value || typeof value !== 'object') return;
  assert.ok(Object.isFrozen(value), `${where} is not frozen`);
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${where}.${k}`);
}
