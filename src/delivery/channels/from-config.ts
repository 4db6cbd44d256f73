import fs from 'node:fs';
import type { Config } from '../../config.ts';
import type { DevicePlatform } from '../../domain/types.ts';
import type { Channel } from '../channel.ts';
import { createApnsChannel } from './apns.ts';
import { createEmailChannel, type EmailChannel } from './email.ts';
import { createExpoChannel } from './expo.ts';
import { createFcmChannel, type ServiceAccount } from './fcm.ts';
import { createWebPushChannel } from './webpush.ts';

/**
 * The push channels the configuration enables. Web Push needs VAPID keys (always there in
 * embedded mode), APNs and FCM their credentials; Expo needs none. Key files are read
 * once here, so a missing file stops the start instead of failing every job.
 */
export function channelsFromConfig(config: Config): Partial<Record<DevicePlatform, Channel>> {
  const { push } = config;
  const channels: Partial<Record<DevicePlatform, Channel>> = {
    expo: createExpoChannel({ endpoint: push.expo.endpoint, ...(push.expo.accessToken ? { accessToken: push.expo.accessToken } : {}) }),
  };
  if (push.vapid) channels.webpush = createWebPushChannel({ vapid: push.vapid, allowInsecure: push.allowInsecure });
  if (push.apns) {
    const { keyFile, ...apns } = push.apns;
    channels.apns = createApnsChannel({ ...apns, privateKeyPem: fs.readFileSync(keyFile, 'utf8') });
  }
  if (push.fcm) {
    const serviceAccount = JSON.parse(fs.readFileSync(push.fcm.serviceAccountFile, 'utf8')) as ServiceAccount;
    channels.fcm = createFcmChannel({ serviceAccount, ...(push.fcm.endpoint ? { endpoint: push.fcm.endpoint } : {}) });
  }
  return channels;
}

export function emailFromConfig(config: Config): EmailChannel | null {
  return config.email.smtpUrl ? createEmailChannel({ url: config.email.smtpUrl, from: config.email.from }) : null;
}
