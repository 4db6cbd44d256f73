import { randomUUID } from 'node:crypto';
import type { RegisterDevice } from '../../protocol/schemas.ts';
import { pushEndpointProblem } from '../domain/push-endpoint.ts';
import type { Actor, Device } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';

/** Push devices: several per user; the same token registered again is the same device. */
export function deviceService(deps: ServiceDeps, opts: { allowInsecurePush: boolean; vapidPublicKey: string | null }) {
  const { store, now } = deps;
  return {
    async register(actor: Actor, input: RegisterDevice): Promise<Device> {
      if (input.platform === 'webpush') {
        const problem = pushEndpointProblem(input.subscription.endpoint, opts.allowInsecurePush);
        if (problem) throw new AppError('validation_failed', `subscription.endpoint: ${problem}`);
        return store.devices.upsert(actor.userId, { id: randomUUID(), platform: 'webpush', token: input.subscription.endpoint, keys: input.subscription.keys }, now());
      }
      return store.devices.upsert(actor.userId, { id: randomUUID(), platform: input.platform, token: input.token, keys: null }, now());
    },
    async remove(actor: Actor, id: string): Promise<void> {
      if (!(await store.devices.delete(actor.userId, id))) throw notFound('Device not found');
    },
    list: (actor: Actor) => store.devices.list(actor.userId),
    /** What a browser passes to pushManager.subscribe as applicationServerKey. */
    vapidPublicKey(): { publicKey: string } {
      if (!opts.vapidPublicKey) throw notFound('Web Push is not configured (PARLEY_VAPID_PUBLIC_KEY)');
      return { publicKey: opts.vapidPublicKey };
    },
  };
}

export type DeviceService = ReturnType<typeof deviceService>;
