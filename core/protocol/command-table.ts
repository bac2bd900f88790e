import type { Args } from "./args.ts";
import type { Command } from "./command.ts";
import { aclCommands } from "./commands/acl.ts";
import { bitCommands } from "./commands/bits.ts";
import { clusterCommands } from "./commands/cluster.ts";
import { dmapCommands } from "./commands/dmap.ts";
import { dmapKeyspaceCommands } from "./commands/dmap-keyspace.ts";
import { hashCommands } from "./commands/hashes.ts";
import { keyOpCommands } from "./commands/key-ops.ts";
import { keyCommands } from "./commands/keys.ts";
import { lcsCommands } from "./commands/lcs.ts";
import { persistenceCommands } from "./commands/persistence.ts";
import { pubsubCommands } from "./commands/pubsub.ts";
import { serverCommands } from "./commands/server.ts";
import { setCommands } from "./commands/sets.ts";
import { stringCommands } from "./commands/strings.ts";
import { transactionCommands } from "./commands/transactions.ts";

/** Every command the node serves, looked up by name without allocating for GET/SET. */
export class CommandTable {
  readonly byName = new Map<string, Command>();
  private readonly get: Command;
  private readonly set: Command;

  constructor() {
    for (const c of [...stringCommands, ...keyCommands, ...serverCommands, ...pubsubCommands, ...dmapCommands, ...dmapKeyspaceCommands, ...clusterCommands, ...hashCommands, ...setCommands, ...persistenceCommands, ...transactionCommands, ...keyOpCommands, ...bitCommands, ...lcsCommands]) {
      // each node counts its own calls: copy the shared definitions
      this.byName.set(c.name, { ...c, calls: 0 });
    }
    for (const c of aclCommands) this.byName.set(c.name, { ...c, calls: 0 });
    this.get = this.byName.get("get")!;
    this.set = this.byName.get("set")!;
  }

  /** The command named by args[0], or undefined. */
  lookup(a: Args): Command | undefined {
    if (a.len[0] === 3) {
      const o = a.off[0]!;
      const b = a.buf;
      const c1 = b[o + 1]! | 32;
      const c2 = b[o + 2]! | 32;
      if (c1 === 101 && c2 === 116) {
        const c0 = b[o]! | 32;
        if (c0 === 103) return this.get;
        if (c0 === 115) return this.set;
      }
    }
    return this.byName.get(a.lower(0));
  }

  /** [name, calls] for every command. */
  *counts(): Iterable<[string, number]> {
    for (const c of this.byName.values()) yield [c.name, c.calls];
  }

  /** Adds or replaces a command (cluster layer, plugins). */
  register(c: Command): void {
    this.byName.set(c.name, c);
  }
}
