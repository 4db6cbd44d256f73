import type { Registry } from 'prom-client';
import type { Store } from '../storage/store.ts';
import { TalliedHistogram } from './tallied-histogram.ts';

/**
 * Where a send's time goes before its ack, from the group commit's side (see
 * src/storage/sql/send-batch.ts): how long it queued behind the batch in flight, how long its
 * statement took to come back (commit included), and how many sends shared it. With
 * parley_delivery_latency_seconds (commit to socket) these split a message's latency; a
 * round trip that grows says the database, a queue wait that grows with it says sends pile up
 * behind it.
 */
export function registerSendMetrics(registry: Registry, observeSends: Store['observeSends']) {
  const seconds = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  const histogram = (name: string, help: string, buckets: number[]) => new TalliedHistogram(name, help, buckets, null, registry).of();
  const queued = histogram('parley_send_queue_seconds', 'Per message sent: from its hand-over to the send batcher until its batch statement was written', seconds);
  const roundTrip = histogram('parley_send_statement_seconds', 'Per batch statement of sends: from its write until its answer was read, commit included', seconds);
  const size = histogram('parley_send_batch_messages', 'Messages per batch statement of sends (group commit)', [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  return observeSends((batch) => {
    for (const ms of batch.queuedMs) queued.observe(ms / 1000);
    roundTrip.observe(batch.roundTripMs / 1000);
    size.observe(batch.size);
  });
}
