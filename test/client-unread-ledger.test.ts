import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ledgerAt, liveChange, serverCount } from '../client/src/state/unread-ledger.ts';

/**
 * The SDK's unread ledger (client/src/state/unread-ledger.ts) on its own: server counts and
 * live events in every order they can meet. `client-basics` shows two of them end to end.
 */
describe('client: unread ledger', () => {
  test('a server count read before events the client applied adds what they changed', () => {
    const l = ledgerAt(5);
    assert.equal(liveChange(l, 6, 1), 1);
    assert.equal(liveChange(l, 7, 1), 1);
    assert.equal(liveChange(l, 8, -1), -1);
    // Read as of 6: 6 is in it, 7 and 8 are not.
    assert.equal(serverCount(l, 8, 3, 6), 3);
  });

  test('a server count read past what arrived marks the rest as counted', () => {
    const l = ledgerAt(5);
    assert.equal(serverCount(l, 5, 2, 7), 2);
    assert.equal(liveChange(l, 6, 1), 0);
    assert.equal(liveChange(l, 7, 1), 0);
    assert.equal(liveChange(l, 8, 1), 1);
  });

  test('an older server count arriving after a newer one is not taken', () => {
    const l = ledgerAt(5);
    assert.equal(serverCount(l, 5, 4, 9), 4);
    assert.equal(serverCount(l, 5, 2, 7), null);
    // Nor one older than the conversation's snapshot.
    assert.equal(serverCount(ledgerAt(5), 5, 0, 4), null);
  });

  test('events that change nothing are not recorded; an answer needing dropped changes is not taken', () => {
    const l = ledgerAt(0);
    assert.equal(liveChange(l, 1, 0), 0);
    assert.equal(l.changes.length, 0);
    for (let seq = 1; seq <= 100; seq++) liveChange(l, seq, 1);
    assert.equal(l.changes.length, 64, 'bounded');
    assert.equal(serverCount(l, 100, 10, 20), null, 'the changes after 20 are no longer all kept');
    assert.equal(serverCount(l, 100, 10, 40), 10 + 60);
  });

  test('a count never goes below zero', () => {
    const l = ledgerAt(0);
    liveChange(l, 1, -1);
    assert.equal(serverCount(l, 1, 0, 0), 0);
  });
});
