import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A subscription endpoint the server must not POST to (SSRF into the private network). */
export class PushEndpointRefused extends Error {
  override name = 'PushEndpointRefused';
}

// Addresses that are not on the public internet: loopback, private, link-local, unique-local,
// CGNAT, multicast, reserved. IPv6 forms that embed an IPv4 address are unwrapped first.
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['100::', 64], ['2001:db8::', 32],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

/** The 16 bytes of an IPv6 literal as the URL parser writes it: hex groups, at most one `::`, no dotted tail. */
function ipv6Bytes(addr: string): number[] {
  const [head = '', rest] = addr.split('::');
  const parse = (s: string) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const h = parse(head);
  const r = rest === undefined ? [] : parse(rest);
  const groups = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The IPv4 address an IPv6 one stands for: mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96), 6to4 (2002::/16). */
function embeddedIPv4(bytes: number[]): string | null {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return bytes.slice(12).join('.');
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6).join('.');
  return null;
}

function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '') return true;
  if (isIPv4(host)) return blocked.check(host, 'ipv4');
  if (isIPv6(host)) {
    const v4 = embeddedIPv4(ipv6Bytes(host));
    return v4 ? blocked.check(v4, 'ipv4') : blocked.check(host, 'ipv6');
  }
  return false;
}

/**
 * A subscription endpoint must be https on a public address (DESIGN "Limits and bad input").
 * Checks the URL only: the WHATWG parser has already normalised odd IPv4 spellings
 * (2130706433, 0x7f.1). A public name that resolves to a private address is not caught here.
 */
export function assertPushEndpointAllowed(endpoint: string, allowInsecure: boolean): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new PushEndpointRefused('push endpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PushEndpointRefused('push endpoint must be an http(s) URL');
  if (allowInsecure) return;
  if (url.protocol !== 'https:') throw new PushEndpointRefused('push endpoint must be https');
  if (isPrivateHost(url.hostname)) throw new PushEndpointRefused('push endpoint must be on a public address');
}

/** The reason an endpoint is refused, or null (for callers that report rather than throw). */
export function pushEndpointProblem(endpoint: string, allowInsecure: boolean): string | null {
  try {
    assertPushEndpointAllowed(endpoint, allowInsecure);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
