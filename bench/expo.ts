// Expo for BENCH_PUSH_PLATFORM=expo: the tests' local server speaking Expo's push API (a JSON
// array of up to 100 messages a request, a ticket each), and the server environment pointing
// Parley's Expo channel at it. The requests are counted: Expo asks for batches.
import { fakeExpo } from '../test/helpers/push/expo.ts';

export async function benchExpo() {
  const expo = await fakeExpo();
  return {
    env: { PARLEY_EXPO_ENDPOINT: expo.url },
    token: (user: string) => `ExponentPushToken[bench-${user}]`,
    /** Pushes received so far whose message has `text` in it (read once each, as they come). */
    counter(text: string) {
      let read = 0;
      let matched = 0;
      return () => {
        for (; read < expo.received.length; read++) for (const m of expo.received[read]!.messages) if (JSON.stringify(m).includes(text)) matched++;
        return matched;
      };
    },
    requests: () => expo.received.length,
    close: () => expo.close(),
  };
}
