/**
 * Keyspace notifications (Redis' notify-keyspace-events): a write publishes
 * `__keyspace@0__:<key>` → event name and/or `__keyevent@0__:<event>` → key,
 * for the event classes switched on. Off by default, as in Redis.
 */

/** Event class bits (Redis' NOTIFY_*). */
export const EventClass = {
  keyspace: 1 << 0, // K
  keyevent: 1 << 1, // E
  generic: 1 << 2, // g
  string: 1 << 3, // $
  list: 1 << 4, // l
  set: 1 << 5, // s
  hash: 1 << 6, // h
  zset: 1 << 7, // z
  expired: 1 << 8, // x
  evicted: 1 << 9, // e
  stream: 1 << 10, // t
  keyMiss: 1 << 11, // m
  module: 1 << 12, // d
  newKey: 1 << 13, // n
} as const;

const C = EventClass;
/** Every class "A" stands for (not key-miss, not new). */
const ALL = C.generic | C.string | C.list | C.set | C.hash | C.zset | C.expired | C.evicted | C.stream | C.module;

const CHARS: [string, number][] = [
  ["g", C.generic],
  ["$", C.string],
  ["l", C.list],
  ["s", C.set],
  ["h", C.hash],
  ["z", C.zset],
  ["x", C.expired],
  ["e", C.evicted],
  ["t", C.stream],
  ["d", C.module],
  ["n", C.newKey],
];

/** Parses a notify-keyspace-events string; null when it has a character Redis does not know. */
export function parseEventFlags(s: string): number | null {
  let flags = 0;
  for (const ch of s) {
    if (ch === "A") flags |= ALL;
    else if (ch === "K") flags |= C.keyspace;
    else if (ch === "E") flags |= C.keyevent;
    else if (ch === "m") flags |= C.keyMiss;
    else {
      const hit = CHARS.find(([c]) => c === ch);
      if (!hit) return null;
      flags |= hit[1];
    }
  }
  return flags;
}

/** Formats flags the way CONFIG GET shows them (Redis' order: classes or "A", then K, E, m). */
export function formatEventFlags(flags: number): string {
  let s = "";
  if ((flags & ALL) === ALL) {
    s = "A";
    if (flags & C.newKey) s += "n";
  } else for (const [ch, bit] of CHARS) if (flags & bit) s += ch;
  if (flags & C.keyspace) s += "K";
  if (flags & C.keyevent) s += "E";
  if (flags & C.keyMiss) s += "m";
  return s;
}

/** Publishes a message; the node's own hub on one node, every member's in a cluster. */
export type Publisher = (channel: Uint8Array, message: Uint8Array) => void;

const enc = new TextEncoder();
const SPACE = enc.encode("__keyspace@0__:");
const EVENT = enc.encode("__keyevent@0__:");

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The notify-keyspace-events switch and the publishing of events. */
export class KeyspaceEvents {
  /** Enabled classes (EventClass bits); 0 = off. */
  flags = 0;

  constructor(private publish: Publisher) {}

  /** Replaces where events go (the cluster layer publishes them cluster-wide). */
  publishWith(p: Publisher): void {
    this.publish = p;
  }

  /** True when events of class `cls` would go anywhere (callers skip building them otherwise). */
  wants(cls: number): boolean {
    return (this.flags & cls) !== 0 && (this.flags & (C.keyspace | C.keyevent)) !== 0;
  }

  /** Publishes `event` (e.g. "hset") on `key` if class `cls` is enabled. */
  notify(cls: number, event: string, key: Uint8Array): void {
    if (!this.wants(cls)) return;
    const ev = enc.encode(event);
    if (this.flags & C.keyspace) this.publish(concat(SPACE, key), ev);
    if (this.flags & C.keyevent) this.publish(concat(EVENT, ev), key.slice());
  }
}
