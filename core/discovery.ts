/**
 * Discovery seam: a plugin reports the full current list of peer addresses
 * (not deltas) whenever it changes. Discovery only seeds membership; SWIM
 * decides liveness.
 */

/** One peer as discovery sees it. */
export interface Peer {
  /** "host:port" of the peer transport. */
  address: string;
  /** Optional node name when the source knows it. */
  name?: string;
}

/** Receives the full current peer list each time it changes. */
export type PeersChanged = (peers: Peer[]) => void;

/** Minimal structured logger handed to plugins. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** What a discovery plugin last saw and when (GET /v1/cluster `discovery`, the log). Times are Unix epoch ms. */
export interface DiscoveryStatus {
  /** The plugin's name (`dns`, `static`, `consul`, `kubernetes`, an external plugin's). */
  plugin: string;
  /** The source's last answer: the full peer list, when, and plugin-specific facts (DNS: name, server, transport). */
  lastResult: { peers: string[]; at: number; detail?: Record<string, unknown> } | null;
  /** The last failure to read the source; null once the source answers again. */
  lastError: { message: string; at: number } | null;
  /** Failed reads since the last answer. */
  failuresSinceResult: number;
}

/** A discovery plugin instance created from its validated config section. */
export interface Discovery {
  readonly name: string;
  /** Starts watching; calls onChange with the full list whenever it changes (at least once). */
  start(onChange: PeersChanged): Promise<void>;
  /** The last known list. */
  members(): Promise<Peer[]>;
  /** Releases every timer, socket and request; safe to call twice. */
  stop(): Promise<void>;
  /** What the source last answered and when, and its last error. Optional for external plugins (the node then reports what reached onChange). */
  status?(): DiscoveryStatus;
}
