/**
 * Known peers (SPEC §5 `receive.allowedPeers`): which calling AE titles may associate, from
 * where, and with which client certificate. An empty list lets any peer in, as the vendor's
 * product does. Host names are resolved when the policy is built (at start and on Save), so
 * judging an association needs no DNS.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { ConfigError, configIssue, type ConfigIssue } from '../../config/errors.js';
import type { AllowedPeer } from '../../config/schema.js';
import type { CallingPeer, PeerRefusal } from '../../dicom/ul/acceptor.js';

/** One entry, ready to judge: its AE title, the addresses it may come from, its certificate CN. */
interface ResolvedPeer {
  aeTitle: string;
  /** Absent: any address. */
  addresses?: net.BlockList;
  host?: string;
  commonName?: string;
}

/** Resolves a host name to all its addresses. */
export type HostResolver = (host: string) => Promise<string[]>;

/** dns.lookup with `all`: what the system resolver (hosts file, DNS) says. */
export const systemResolver: HostResolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** IPv4-mapped IPv6 as IPv4, so 10.1.2.3 in a rule matches ::ffff:10.1.2.3 from a dual-stack socket. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return net.isIPv4(address) ? 'ipv4' : 'ipv6';
}

/** The addresses a `host` rule stands for: an IP, a CIDR range, or a host name's addresses. */
async function addressesOf(host: string, index: number, resolve: HostResolver, onUnresolved?: (issue: ConfigIssue) => void): Promise<net.BlockList> {
  const list = new net.BlockList();
  const slash = host.indexOf('/');
  if (slash > 0) {
    const ip = unmapped(host.slice(0, slash));
    list.addSubnet(ip, Number(host.slice(slash + 1)), familyOf(ip));
    return list;
  }
  if (net.isIP(host) !== 0) {
    const ip = unmapped(host);
    list.addAddress(ip, familyOf(ip));
    return list;
  }
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unresolvable';
    const issue = configIssue(`receive.allowedPeers[${index}].host`, `the host name cannot be resolved (${code})`, host);
    if (onUnresolved === undefined) throw new ConfigError([issue], { cause: err });
    // Fails closed: an empty list matches no address.
    onUnresolved(issue);
    return list;
  }
  for (const address of addresses.map(unmapped)) list.addAddress(address, familyOf(address));
  return list;
}

/** The allow-list, resolved: judges each calling peer. */
export class PeerPolicy {
  readonly #peers: readonly ResolvedPeer[];

  private constructor(peers: readonly ResolvedPeer[]) {
    this.#peers = peers;
  }

  /** Any peer welcome (the empty list). */
  static readonly open = new PeerPolicy([]);

  /**
   * Builds the policy, resolving host names now. A host name that does not resolve throws a
   * ConfigError naming `receive.allowedPeers[i].host` (on Save), or, given `onUnresolved` (at
   * start), is reported there and matches no address.
   */
  static async resolve(entries: readonly AllowedPeer[], resolve: HostResolver = systemResolver, onUnresolved?: (issue: ConfigIssue) => void): Promise<PeerPolicy> {
    const peers = await Promise.all(entries.map(async (entry, index): Promise<ResolvedPeer> => ({
      aeTitle: entry.aeTitle.trim(),
      host: entry.host,
      addresses: entry.host === undefined || entry.host === '' ? undefined : await addressesOf(entry.host, index, resolve, onUnresolved),
      commonName: entry.commonName,
    })));
    return new PeerPolicy(peers);
  }

  /** True when any peer is let in. */
  get open(): boolean {
    return this.#peers.length === 0;
  }

  /**
   * Judges a calling peer: null lets it in; otherwise why not. The CN is compared only when
   * the connection gave one (TLS with a verified client certificate).
   */
  check(peer: CallingPeer): PeerRefusal | null {
    if (this.#peers.length === 0) return null;
    const known = this.#peers.filter((p) => p.aeTitle === peer.callingAeTitle);
    if (known.length === 0) {
      return { reason: 'unknown-calling-ae-title', text: `calling AE title "${peer.callingAeTitle}" not recognised (not in receive.allowedPeers) from ${peer.address}` };
    }
    const address = unmapped(peer.address);
    const family = familyOf(address);
    const here = known.filter((p) => p.addresses === undefined || (net.isIP(address) !== 0 && p.addresses.check(address, family)));
    if (here.length === 0) {
      const hosts = known.map((p) => p.host).join(', ');
      return { reason: 'address-not-allowed', text: `calling AE title "${peer.callingAeTitle}" from ${address}, which is not its allowed host (${hosts})` };
    }
    if (peer.commonName === undefined) return null;
    if (here.some((p) => p.commonName === undefined || p.commonName === peer.commonName)) return null;
    return {
      reason: 'certificate-name-mismatch',
      text: `calling AE title "${peer.callingAeTitle}" from ${address} with a client certificate for "${peer.commonName}", not "${here.map((p) => p.commonName).join('", "')}"`,
    };
  }
}
