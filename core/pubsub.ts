import type { Bytes, PubSub, PubSubListener } from "./api.ts";
import { globMatch } from "./store/glob.ts";
import { toBytes } from "./store/map-store.ts";

const key = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

/** In-node pub/sub hub: exact channels and glob patterns. */
export class PubSubHub implements PubSub {
  private readonly channels = new Map<string, Set<PubSubListener>>();
  private readonly patterns = new Map<string, { bytes: Uint8Array; listeners: Set<PubSubListener> }>();

  publish(channel: Bytes, message: Bytes): number {
    const ch = toBytes(channel);
    const msg = toBytes(message);
    let n = 0;
    const subs = this.channels.get(key(ch));
    if (subs)
      for (const l of [...subs]) {
        n++;
        l(ch, msg);
      }
    for (const p of this.patterns.values()) {
      if (!globMatch(p.bytes, ch)) continue;
      for (const l of [...p.listeners]) {
        n++;
        l(ch, msg, p.bytes);
      }
    }
    return n;
  }

  subscribe(channel: Bytes, listener: PubSubListener): () => void {
    const k = key(toBytes(channel));
    let set = this.channels.get(k);
    if (!set) this.channels.set(k, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.channels.delete(k);
    };
  }

  psubscribe(pattern: Bytes, listener: PubSubListener): () => void {
    const bytes = toBytes(pattern);
    const k = key(bytes);
    let p = this.patterns.get(k);
    if (!p) this.patterns.set(k, (p = { bytes, listeners: new Set() }));
    p.listeners.add(listener);
    return () => {
      p!.listeners.delete(listener);
      if (p!.listeners.size === 0) this.patterns.delete(k);
    };
  }

  /** Sharded channels (SSUBSCRIBE/SPUBLISH): their own namespace, exact names only. */
  private readonly shard = new Map<string, Set<PubSubListener>>();

  /** Publishes to a sharded channel; returns the receivers reached. */
  spublish(channel: Uint8Array, message: Uint8Array): number {
    const subs = this.shard.get(key(channel));
    if (!subs) return 0;
    for (const l of [...subs]) l(channel, message);
    return subs.size;
  }

  /** Subscribes to a sharded channel; returns the unsubscribe function. */
  ssubscribe(channel: Uint8Array, listener: PubSubListener): () => void {
    const k = key(channel);
    let set = this.shard.get(k);
    if (!set) this.shard.set(k, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.shard.delete(k);
    };
  }

  /** Channels (or sharded channels) with subscribers, matching a glob when given (PUBSUB CHANNELS). */
  channelNames(pattern: Uint8Array | null, sharded = false): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const k of (sharded ? this.shard : this.channels).keys()) {
      const b = Uint8Array.from(k, (c) => c.charCodeAt(0));
      if (pattern === null || globMatch(pattern, b)) out.push(b);
    }
    return out;
  }

  /** Subscribers of one channel (or sharded channel), patterns not counted (PUBSUB NUMSUB). */
  subscriberCount(channel: Uint8Array, sharded = false): number {
    return (sharded ? this.shard : this.channels).get(key(channel))?.size ?? 0;
  }

  /** Number of channels with subscribers. */
  channelCount(): number {
    return this.channels.size;
  }

  /** Number of patterns with subscribers. */
  patternCount(): number {
    return this.patterns.size;
  }
}
