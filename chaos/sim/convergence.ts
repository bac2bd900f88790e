/**
 * Replica convergence: once the faults have stopped and the cluster is
 * whole again, every holder of a partition must hold the same keys at the
 * same versions (values and tombstones) — with no client reads, by
 * anti-entropy and hinted handoff alone. Compared by partition digest
 * (core/cluster/digest.ts) on every running node.
 */
import { DIGEST_RANGES, digestPartitions, type PartitionDigests } from "../../core/cluster/digest.ts";
import type { SimCluster } from "./cluster.ts";

/** Partitions whose holders differ now, described ("p7: n1 ≠ n3 in 2 ranges"); empty when all agree. */
export function divergentPartitions(cluster: SimCluster): string[] {
  const running = cluster.running().map((i) => cluster.at(i)!);
  const first = running[0];
  const t = first?.cluster.partitions;
  if (!first || !t) return [];
  const all = Array.from({ length: t.partitionCount }, (_, p) => p);
  const digests = new Map<string, PartitionDigests>();
  for (const inc of running) digests.set(inc.name, digestPartitions(inc.node, inc.cluster.sync, t.partitionCount, all));
  const out: string[] = [];
  for (let p = 0; p < t.partitionCount; p++) {
    const holders = [t.owner(p), ...t.replicas(p)].filter((h) => digests.has(h));
    const [a, ...rest] = holders;
    if (a === undefined) continue;
    for (const b of rest) {
      let ranges = 0;
      for (let r = 0; r < DIGEST_RANGES; r++) if (!digests.get(a)!.sameAs(digests.get(b)!, p, r)) ranges++;
      if (ranges > 0) out.push(`p${p}: ${a} and ${b} differ in ${ranges} of ${DIGEST_RANGES} ranges`);
    }
  }
  return out;
}
