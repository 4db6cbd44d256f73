// Parley's service worker: shows Web Push notifications and opens the right page on a click.
// The payload is { title, body, data } (src/delivery/channels/webpush.ts); data carries
// conversationId for messages and mentions, or an actionUrl for notifications that have one.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function targetOf(data) {
  if (data && typeof data.conversationId === 'string') return `/c/${encodeURIComponent(data.conversationId)}`;
  if (data && typeof data.actionUrl === 'string') return data.actionUrl;
  return '/notifications';
}

self.addEventListener('push', (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = { title: 'Parley', body: event.data ? event.data.text() : '' };
  }
  const data = payload.data || {};
  event.waitUntil(
    self.registration.showNotification(payload.title || 'Parley', {
      body: payload.body || '',
      icon: '/favicon.svg',
      // One notification per conversation, replaced by the next (the server coalesces too).
      tag: data.conversationId || data.notificationId || undefined,
      data: { url: targetOf(data) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const w of windows) {
        if (new URL(w.url).origin === self.location.origin && 'focus' in w) {
          w.navigate(url);
          return w.focus();
        }
      }
      return self.clients.openWindow(url);
    }),
  );
});
