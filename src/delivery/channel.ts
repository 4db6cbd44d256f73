import type { DevicePlatform, PushMessage } from '../domain/types.ts';

export type { PushMessage };
export type Platform = DevicePlatform;
export interface PushDevice { id: string; platform: Platform; token?: string; subscription?: { endpoint: string; keys: { p256dh: string; auth: string } } }
export type DeliveryResult =
  /** `receipt`: the provider accepted it and can say later whether it arrived (Expo tickets). */
  | { status: 'delivered'; receipt?: string }
  | { status: 'invalid_token'; reason: string } // prune the device, never retry
  | { status: 'retry'; reason: string; retryAfterMs?: number } // 429 (honour Retry-After), 5xx, network errors
  | { status: 'failed'; reason: string }; // permanent (400, 413...), no retry

/**
 * The push port. A channel never throws: every outcome, a network error included, is a
 * DeliveryResult, so the job that called it always settles (invariant 6).
 */
export interface Channel {
  readonly platform: Platform;
  send(device: PushDevice, message: PushMessage): Promise<DeliveryResult>;
  /** What became of an accepted message, for providers that report it later; null: not known yet. */
  checkReceipt?(receipt: string): Promise<DeliveryResult | null>;
  close(): Promise<void>;
}

// Helpers the channels share.

/** Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 429 and 5xx are the provider's trouble, not the message's: try again later. */
export function retryLater(reason: string, retryAfter?: string | null): DeliveryResult {
  const retryAfterMs = parseRetryAfter(retryAfter);
  return retryAfterMs === undefined ? { status: 'retry', reason } : { status: 'retry', reason, retryAfterMs };
}

/** A network error (refused, reset, timeout) says nothing about the token: retry. */
export function networkError(err: unknown): DeliveryResult {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return { status: 'retry', reason: `network: ${e?.cause?.code ?? e?.code ?? e?.message ?? String(err)}` };
}
