import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeOrderedUuid } from '../src/domain/ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('message ids are version 7 UUIDs: the millisecond first, then random bits', () => {
  const at = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
  const ids = Array.from({ length: 10_000 }, () => timeOrderedUuid(at));
  for (const id of ids) {
    assert.match(id, V7);
    assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  }
  assert.equal(new Set(ids).size, ids.length);
  // Ids of later milliseconds sort after earlier ones, as strings and as PostgreSQL uuids do.
  const later = [at + 1, at + 1_000, at + 86_400_000].map((ms) => timeOrderedUuid(ms));
  for (const id of later) assert.ok(id > ids[0]! && ids.every((e) => e < id));
});
