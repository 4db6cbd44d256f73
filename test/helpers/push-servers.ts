// Local servers speaking each push provider's protocol (see test/helpers/push/).
export { type ApnsReceived, type FakeApns, fakeApns } from './push/apns.ts';
export { type ExpoReceived, expoError, type FakeExpo, fakeExpo } from './push/expo.ts';
export { type FakeFcm, type FcmReceived, fakeFcm, fcmError } from './push/fcm.ts';
export { deadUrl, type Reply, Script } from './push/script.ts';
export { type BrowserSubscription, decryptAes128gcm, type FakePushService, fakePushService, type WebPushReceived } from './push/webpush.ts';
