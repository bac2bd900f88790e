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

/** A discovery plugin instance created from its validated config section. */
export interface Discovery {
  readonly name: string;
  /** Starts watching; calls onChange with the full list whenever it changes (at least once). */
  start(onChange: PeersChanged): Promise<void>;
  /** The last known list. */
  members(): Promise<Peer[]>;
  /** Releases every timer, socket and request; safe to call twice. */
  stop(): Promise<void>;
}
