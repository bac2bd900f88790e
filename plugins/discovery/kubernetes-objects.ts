/**
 * The Kubernetes objects the kubernetes plugin reads (EndpointSlice, Pod,
 * watch events) and how each turns into peers.
 */
import { joinHostPort, type Peer } from "./contract.ts";

/** The fields of a discovery.k8s.io/v1 EndpointSlice that discovery reads. */
export interface EndpointSliceObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; hostname?: string; targetRef?: { name?: string } }[];
  ports?: { name?: string; port?: number }[] | null;
}
/** The fields of a v1 Pod that discovery reads. */
export interface PodObject {
  metadata: { name: string; resourceVersion?: string; deletionTimestamp?: string };
  spec?: { containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}
/** Either kind of watched object. */
export type WatchedObject = EndpointSliceObject & PodObject;
/** One line of a watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: WatchedObject & { code?: number; message?: string };
}

/** Peers of ready endpoints in EndpointSlices. */
export function slicePeers(slices: Iterable<EndpointSliceObject>, portName: string, defaultPort: number): Peer[] {
  const peers: Peer[] = [];
  for (const s of slices) {
    const ports = s.ports ?? [];
    const port = ports.find((p) => p.name === portName)?.port ?? (ports.length === 1 ? ports[0]!.port : undefined);
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false || !e.addresses?.[0]) continue;
      peers.push({ address: joinHostPort(e.addresses[0], port ?? defaultPort), name: e.targetRef?.name ?? e.hostname });
    }
  }
  return peers;
}

/** Peers of Ready, not-terminating pods with an IP. */
export function podPeers(pods: Iterable<PodObject>, portName: string, defaultPort: number): Peer[] {
  const peers: Peer[] = [];
  for (const p of pods) {
    const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (!ready || !p.status?.podIP || p.metadata.deletionTimestamp) continue;
    const port = p.spec?.containers?.flatMap((c) => c.ports ?? []).find((cp) => cp.name === portName)?.containerPort;
    peers.push({ address: joinHostPort(p.status.podIP, port ?? defaultPort), name: p.metadata.name });
  }
  return peers;
}
