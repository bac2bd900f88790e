/**
 * Example external discovery plugin: reads peers ("host:port", one per line,
 * `#` comments allowed) from a file and re-reads it every `interval` ms.
 *
 *   shoal serve --discovery-plugin ./plugins/discovery/examples/file-plugin.ts \
 *     --discovery-config '{"path":"/etc/shoal/peers.txt","interval":1000}'
 *
 * An external plugin module exports `create(config, logger): Discovery` and,
 * optionally, `kind` and a zod `schema` for its config section.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { Discovery, Logger, Peer, PeersChanged } from "../../../core/discovery.ts";

/** Name shown in logs and errors. */
export const kind = "file";

/** Config section: the peers file and how often to re-read it. */
export const schema = z.object({
  path: z.string().min(1, "path: give the peers file, e.g. /etc/shoal/peers.txt"),
  interval: z.number().int().positive().default(1000),
});

/** Creates the file discovery. */
export function create(config: z.infer<typeof schema>, logger: Logger): Discovery {
  let last: Peer[] = [];
  let lastKey: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function read(onChange: PeersChanged): Promise<void> {
    try {
      const text = await readFile(config.path, "utf8");
      const peers = text
        .split("\n")
        .map((line) => line.replace(/#.*/, "").trim())
        .filter((line) => line.length > 0)
        .sort()
        .map((address) => ({ address }));
      const key = JSON.stringify(peers);
      if (key !== lastKey && !stopped) {
        lastKey = key;
        last = peers;
        onChange(peers.map((p) => ({ ...p })));
      }
    } catch (err) {
      logger.warn("discovery.file.read_failed", { path: config.path, error: (err as Error).message });
    }
  }

  return {
    name: kind,
    async start(onChange) {
      await read(onChange);
      if (lastKey === undefined) onChange([]);
      const tick = async (): Promise<void> => {
        await read(onChange);
        if (!stopped) timer = setTimeout(tick, config.interval);
      };
      timer = setTimeout(tick, config.interval);
    },
    async members() {
      return last.map((p) => ({ ...p }));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
