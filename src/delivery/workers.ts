import { stableUuid } from '../domain/ids.ts';
import type { Device, DevicePlatform } from '../domain/types.ts';
import type { Bus } from '../realtime/bus.ts';
import type { EmailJob } from '../services/digest.ts';
import { gathered } from '../services/gathered.ts';
import type { Services } from '../services/index.ts';
import type { DeviceJob, PushJob } from '../services/push.ts';
import { type JobQueue, type JobResult, type JobSpec, PLATFORM_QUEUES, QUEUES } from '../storage/job-queue.ts';
import type { Channel, DeliveryResult, PushDevice } from './channel.ts';
import type { EmailChannel } from './channels/email.ts';
import { renderDigest } from './email/digest.ts';

export interface DeliveryOptions {
  services: Services;
  jobs: JobQueue;
  bus: Bus;
  /** Configured push channels; devices of other platforms are never queued. */
  channels: Partial<Record<DevicePlatform, Channel>>;
  email: EmailChannel | null;
  /** Minutes between digest runs; 0 = none. */
  digestIntervalMinutes: number;
  productName: string;
  /** How long after an accepted push its receipt is checked (Expo: receipts can take a while). */
  receiptDelayMs: number;
  /** How often the outbox is swept (default OUTBOX_SWEEP_MS; tests make it longer than they run). */
  outboxSweepMs?: number;
  onError: (err: unknown, what: string) => void;
}

/** A safety net: other instances' outbox rows, and rows left by a crash, are picked up this often. */
const OUTBOX_SWEEP_MS = 5000;
const DIGEST_TICK_MS = 60_000;
/**
 * At shutdown, notification work is drained for this long at most: a bounded part of the
 * shutdown's own bound (PARLEY_SHUTDOWN_TIMEOUT_MS). The rest waits, durable, for the
 * other instances or the next start.
 */
const DISPATCH_STOP_GRACE_MS = 1000;

const toPushDevice = (d: Device): PushDevice =>
  d.platform === 'webpush' && d.keys ? { id: d.id, platform: d.platform, subscription: { endpoint: d.token, keys: d.keys } } : { id: d.id, platform: d.platform, token: d.token };

/** Invariant 6: every provider answer ends in done, a retry with backoff, or the dead-letter queue. */
function settle(result: DeliveryResult): JobResult {
  switch (result.status) {
    case 'delivered':
      return { outcome: 'done', output: { status: 'delivered' } };
    case 'invalid_token':
      return { outcome: 'done', output: { status: 'pruned', reason: result.reason } };
    case 'retry':
      return { outcome: 'retry', reason: result.reason, ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}) };
    case 'failed':
      return { outcome: 'dead', reason: result.reason };
  }
}

/**
 * Runs notification delivery in this process: drains the outbox when a message or
 * reaction is published (and every few seconds), decides pushes, sends to devices and
 * mailboxes, and runs digests. All state is in the job queue, so any number of instances
 * can do this side by side.
 */
export async function startDelivery(o: DeliveryOptions) {
  const { services, jobs } = o;
  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  const drainFailed = (err: unknown) => o.onError(err, 'outbox drain');
  const poke = () => {
    if (!stopped) services.dispatcher.nudge(drainFailed);
  };

  // Only the instance that committed the change drains for it: in a cluster every instance
  // hears every message, and three drains racing for one outbox row is two wasted queries.
  // (The sweep below still finds what an instance that died in between left behind.)
  const unsubscribe = o.bus.subscribe((m, meta) => {
    if (meta.local && m.kind === 'conversation' && (m.event.type === 'message:new' || m.event.type === 'reaction:updated')) poke();
  });
  const sweep = setInterval(poke, o.outboxSweepMs ?? OUTBOX_SWEEP_MS);
  sweep.unref();

  // A push decision only reads and writes the database, and running one twice is harmless
  // (it claims what it pushes, and its device jobs have stable ids). A message to a large
  // group's offline members is a decision for each of them at once: ten a fetch, decided
  // together, a statement per step for the batch. One worker: a second, running its batch
  // beside the first, pushed no faster and doubled what chat waited meanwhile. Device jobs
  // mostly wait on a provider (its answer within the channel's timeout, 10 s at worst): ten a
  // fetch too, side by side, so a batch ends with its slowest push, far inside the job expiry.
  stops.push(await jobs.workBatches<PushJob>(
    QUEUES.push,
    async (batch) => (await services.push.decide(batch.map((j) => ({ job: j.data, jobId: j.id })))).map((d) => ({ outcome: 'done', output: { ...d } })),
    { concurrency: 1, batch: 10 },
  ));

  // The receipt checks a fetch of device jobs asks for, side by side, are one insert.
  const enqueueCheck = gathered(async (specs: JobSpec[]) => {
    await jobs.enqueue(specs);
    return specs.map(() => undefined);
  });
  for (const [platform, channel] of Object.entries(o.channels) as [DevicePlatform, Channel][]) {
    stops.push(await jobs.work<DeviceJob>(
      PLATFORM_QUEUES[platform],
      async (job) => {
        const device = await services.push.device(job.data);
        if (!device) return { outcome: 'done', output: { status: 'skipped', reason: 'device unregistered' } };
        const { receipt, message } = job.data;
        if (receipt) {
          const checked = (await channel.checkReceipt?.(receipt)) ?? null;
          if (checked === null) return { outcome: 'retry', reason: 'receipt not ready' };
          if (checked.status === 'invalid_token') await services.push.prune(job.data);
          return settle(checked);
        }
        if (!message) return { outcome: 'dead', reason: 'neither a message nor a receipt' };
        const result = await channel.send(toPushDevice(device), message);
        if (result.status === 'invalid_token') await services.push.prune(job.data);
        if (result.status === 'delivered' && result.receipt && channel.checkReceipt) {
          // The provider took it; whether the device did shows in the receipt (a dead token is pruned then).
          const check: DeviceJob = { userId: job.data.userId, deviceId: job.data.deviceId, receipt: result.receipt };
          await enqueueCheck({ queue: PLATFORM_QUEUES[platform], id: stableUuid(`receipt:${result.receipt}`), delayMs: o.receiptDelayMs, data: check });
        }
        return settle(result);
      },
      { concurrency: 4, batch: 10, sideBySide: true },
    ));
  }

  let digestTimer: NodeJS.Timeout | null = null;
  // Every instance ticks; the slot's job id is the same everywhere, so each slot runs once.
  const slotMs = o.digestIntervalMinutes * 60_000;
  const scheduleDigest = async (): Promise<void> => {
    if (slotMs <= 0) return;
    const slot = Math.floor(Date.now() / slotMs);
    await jobs.enqueue([{ queue: QUEUES.digest, id: stableUuid(`digest-run:${slotMs}:${slot}`), data: { slot } }]);
    jobs.wake(QUEUES.digest);
  };
  const email = o.email;
  if (email) {
    stops.push(
      await jobs.work<EmailJob>(
        QUEUES.email,
        async (job) => {
          const mail = renderDigest({ ...job.data.digest, productName: o.productName });
          return settle(await email.send({ to: job.data.to, ...mail }));
        },
        { concurrency: 2 },
      ),
    );
    if (slotMs > 0) {
      stops.push(await jobs.work(QUEUES.digest, async () => ({ outcome: 'done', output: await services.digest.run() })));
      digestTimer = setInterval(() => void scheduleDigest().catch((err) => o.onError(err, 'digest schedule')), Math.min(DIGEST_TICK_MS, slotMs));
      digestTimer.unref();
    }
  }

  poke(); // whatever a previous run left in the outbox

  return {
    /** Enqueues this slot's digest run, as the timer does (at most one run per slot across instances). */
    scheduleDigest,
    /** Drains the outbox now (tests; the timer and bus do it otherwise). */
    drain: () => services.dispatcher.flush(),
    /** Drains the outbox soon: notification work was committed here (see ServiceDeps.notifyWorkWritten). */
    poke,
    async stop() {
      stopped = true;
      unsubscribe();
      clearInterval(sweep);
      if (digestTimer) clearInterval(digestTimer);
      await services.dispatcher.stop(DISPATCH_STOP_GRACE_MS);
      for (const stopWork of stops) await stopWork();
    },
  };
}

export type Delivery = Awaited<ReturnType<typeof startDelivery>>;
