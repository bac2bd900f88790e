/**
 * The dashboard's peer messages (msgpack, on their own channel of the peer
 * transport): a member asks another for its summary, the samples newer than
 * the last one it has and the events after the last one it has. Decoding
 * checks the shape, so a malformed or foreign message is an error, not a crash.
 */
import { Packr } from "msgpackr";
import type { DashEvent } from "./event-log.ts";
import type { NodeSummary } from "./recorder.ts";
import { METRICS, type SeriesColumns } from "./series.ts";

/** Asks a member for what is new since `since` (sample time) and `after` (event seq) of its run started at `startedAt`. */
export interface DashRequest {
  t: "dash";
  since: number;
  after: number;
  /** The startedAt the asker knows (0: none); a different one means the member restarted and sends everything. */
  startedAt: number;
}

/** The answer: the member's summary, its newer samples and events. */
export interface DashReply {
  t: "dash";
  summary: NodeSummary;
  samples: SeriesColumns;
  events: DashEvent[];
}

/** A refusal (not a member here, or a bad request). */
export interface DashError {
  t: "error";
  message: string;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes a dashboard message. */
export function encodeDash(msg: DashRequest | DashReply | DashError): Uint8Array {
  return packr.pack(msg);
}

/** Decodes a request; throws Error naming what is wrong. */
export function decodeDashRequest(bytes: Uint8Array): DashRequest {
  const m = packr.unpack(bytes) as Record<string, unknown> | null;
  if (m === null || typeof m !== "object" || m.t !== "dash") throw new Error("not a dashboard request");
  const num = (k: string): number => {
    const v = m[k];
    if (typeof v !== "number" || Number.isNaN(v)) throw new Error(`dashboard request: ${k} must be a number`);
    return v;
  };
  return { t: "dash", since: num("since"), after: num("after"), startedAt: num("startedAt") };
}

/** Decodes a reply; throws Error on a refusal or a malformed message. */
export function decodeDashReply(bytes: Uint8Array): DashReply {
  const m = packr.unpack(bytes) as Record<string, unknown> | null;
  if (m === null || typeof m !== "object") throw new Error("malformed dashboard reply");
  if (m.t === "error") throw new Error(String(m.message));
  if (m.t !== "dash") throw new Error("not a dashboard reply");
  const summary = m.summary as NodeSummary | undefined;
  if (!summary || typeof summary.name !== "string" || typeof summary.startedAt !== "number") throw new Error("dashboard reply: bad summary");
  const samples = m.samples as SeriesColumns | undefined;
  if (!samples || !Array.isArray(samples.t) || METRICS.some((k) => !Array.isArray(samples[k]) || samples[k].length !== samples.t.length)) {
    throw new Error("dashboard reply: bad samples");
  }
  const events = m.events;
  if (!Array.isArray(events) || events.some((e) => typeof e?.seq !== "number" || typeof e?.text !== "string")) throw new Error("dashboard reply: bad events");
  return { t: "dash", summary, samples, events: events as DashEvent[] };
}
