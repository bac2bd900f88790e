/**
 * Discovery plugin registry: built-in plugins by kind (`--discovery <kind>`)
 * and external plugins loaded from a module path (`--discovery-plugin ./x.ts`).
 */
import { isAbsolute, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { consulPlugin } from "./consul.ts";
import { type Discovery, DiscoveryConfigError, type DiscoveryPlugin, type Logger, parsePluginConfig } from "./contract.ts";
import { dnsPlugin } from "./dns.ts";
import { kubernetesPlugin } from "./kubernetes.ts";
import { staticPlugin } from "./static.ts";

/** Built-in plugins by kind. */
export const builtinPlugins: Readonly<Record<string, DiscoveryPlugin<never>>> = Object.freeze({
  static: staticPlugin as DiscoveryPlugin<never>,
  dns: dnsPlugin as DiscoveryPlugin<never>,
  consul: consulPlugin as DiscoveryPlugin<never>,
  kubernetes: kubernetesPlugin as DiscoveryPlugin<never>,
});

/** Kinds accepted by {@link createDiscovery}. */
export function knownKinds(): string[] {
  return Object.keys(builtinPlugins);
}

/**
 * Creates an unstarted built-in discovery of `kind` from its raw config section.
 * @throws DiscoveryConfigError for an unknown kind (listing the known ones) or an invalid section.
 */
export function createDiscovery(kind: string, config: unknown, logger: Logger): Discovery {
  const plugin = Object.hasOwn(builtinPlugins, kind) ? builtinPlugins[kind] : undefined;
  if (!plugin) {
    throw new DiscoveryConfigError(
      `unknown discovery plugin ${JSON.stringify(kind)}; known: ${knownKinds().join(", ")} (or load one with --discovery-plugin ./my-plugin.ts)`,
    );
  }
  return plugin.create(parsePluginConfig(kind, plugin.schema, config) as never, logger);
}

/**
 * Loads an external plugin module. The module must export
 * `create(config, logger): Discovery` and may export `schema` (a zod schema for its config
 * section) and `kind`. Relative paths resolve against `cwd`.
 * @throws DiscoveryConfigError when the module cannot be imported or has no `create` export.
 */
export async function loadExternalPlugin(path: string, cwd = process.cwd()): Promise<DiscoveryPlugin<unknown>> {
  const absolute = isAbsolute(path) ? path : resolvePath(cwd, path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (err) {
    throw new DiscoveryConfigError(`--discovery-plugin ${path}: cannot load module: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const create = mod.create;
  if (typeof create !== "function") {
    throw new DiscoveryConfigError(
      `--discovery-plugin ${path}: module must export create(config, logger): Discovery (found exports: ${Object.keys(mod).join(", ") || "none"})`,
    );
  }
  const schema = mod.schema instanceof z.ZodType ? (mod.schema as z.ZodType<unknown>) : z.unknown();
  const kind = typeof mod.kind === "string" ? mod.kind : `external:${path}`;
  return {
    kind,
    schema,
    create(config, logger) {
      const discovery = create(parsePluginConfig(kind, schema, config), logger) as Discovery;
      for (const method of ["start", "members", "stop"] as const) {
        if (typeof discovery?.[method] !== "function") {
          throw new DiscoveryConfigError(`--discovery-plugin ${path}: create() returned an object without ${method}()`);
        }
      }
      return discovery;
    },
  };
}
