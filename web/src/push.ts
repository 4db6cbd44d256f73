/** Web Push in this browser: permission, the service worker's subscription, and the device Parley knows it as. */
export type PushState = 'unsupported' | 'denied' | 'off' | 'on';

const DEVICE_KEY = 'parley.pushDevice';

export interface PushApi {
  vapidPublicKey(): Promise<string>;
  registerWebPush(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }): Promise<{ id: string }>;
  removeDevice(id: string): Promise<void>;
}

const supported = (): boolean => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const raw = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export async function pushState(): Promise<PushState> {
  if (!supported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg?.pushManager.getSubscription();
  return sub && localStorage.getItem(DEVICE_KEY) ? 'on' : 'off';
}

/** Asks for permission, subscribes with the server's VAPID key, and registers this browser as a device. */
export async function enablePush(api: PushApi): Promise<PushState> {
  if (!supported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  await navigator.serviceWorker.ready;
  const key = await api.vapidPublicKey();
  let sub = await reg.pushManager.getSubscription();
  // A subscription made with another server's key cannot be reused.
  if (sub?.options.applicationServerKey && new Uint8Array(sub.options.applicationServerKey).toString() !== keyBytes(key).toString()) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  const json = sub.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } };
  const device = await api.registerWebPush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
  localStorage.setItem(DEVICE_KEY, device.id);
  return 'on';
}

export async function disablePush(api: PushApi): Promise<PushState> {
  const id = localStorage.getItem(DEVICE_KEY);
  localStorage.removeItem(DEVICE_KEY);
  if (id) await api.removeDevice(id).catch(() => undefined);
  const reg = await navigator.serviceWorker.getRegistration('/');
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
  return 'off';
}
