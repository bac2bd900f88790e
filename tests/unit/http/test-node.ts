/** A real ShoalNode on a manual clock, for the HTTP API tests. */
import type { Clock, Timer } from "../../../core/clock.ts";
import { SeededRng } from "../../../core/clock.ts";
import { type NodeSettings, ShoalNode } from "../../../core/node.ts";
import type { PubSubHub } from "../../../core/pubsub.ts";

/** Clock whose time only moves with advance(); due timers fire on advance(). */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  /** Live timers not yet fired. */
  pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((t) => t.live && t.at <= this.t);
    this.timers = this.timers.filter((t) => t.live && t.at > this.t);
    for (const t of due) t.fn();
  }
}

/**
 * A ready ShoalNode without housekeeping timers (so the clock's pending
 * timers are only the HTTP layer's).
 */
export function testNode(config: Partial<NodeSettings> = {}): { node: ShoalNode; clock: ManualClock } {
  const clock = new ManualClock();
  const node = new ShoalNode({ clock, rng: new SeededRng(7), config: { nodeName: "test-node", ...config } });
  node.ready = true;
  return { node, clock };
}

/** Subscriptions (channels + patterns) alive in a node's hub. */
export function subscriptions(hub: PubSubHub): number {
  return hub.channelCount() + hub.patternCount();
}
