/**
 * Merges configuration sources — flags > SHOAL_* env > shoal.yaml > presets >
 * defaults — and validates each value where it came from, so every problem is
 * reported with the flag, variable or YAML key the user actually wrote.
 * Runtime-neutral: the caller injects argv, env and a file reader.
 */
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { type ConfigKey, type FieldMeta, MapOverride, ShoalConfig, ShoalConfigFields } from "./config.ts";
import { didYouMean, isOtherShoalVariable } from "./config-names.ts";

/** Where configuration comes from; the cmd layer fills these from the runtime. */
export interface ConfigSources {
  /** Flags after the subcommand, e.g. ["--port", "7000", "--bind=0.0.0.0"]. */
  argv: readonly string[];
  /**
   * Environment variables: SHOAL_* ones are settings; one that names no setting
   * (and is not one of OTHER_SHOAL_VARIABLES) is refused like an unknown flag.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a text file; returns null when it does not exist (other failures may throw). */
  readFile: (path: string) => string | null;
  /** Host name used to derive the default node name `<hostname>-<port>`. */
  hostname?: string;
}

/** Invalid configuration: `problems` has one line per bad field. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** camelCase → kebab-case, dropping the `Ms` unit suffix of durations: frameTimeoutMs → frame-timeout. */
export function flagName(key: string): string {
  return key.replace(/Ms$/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The env variable of a field: httpPort → SHOAL_HTTP_PORT. */
export function envName(key: string): string {
  return `SHOAL_${flagName(key).replaceAll("-", "_").toUpperCase()}`;
}

/** The shoal.yaml key of a field: httpPort → http_port (kebab-case and camelCase are accepted too). */
export function yamlName(key: string): string {
  return flagName(key).replaceAll("-", "_");
}

/** Help metadata of a field. */
export function fieldMeta(key: ConfigKey): FieldMeta {
  // .default()/.optional() wrap the annotated schema: walk inward to the metadata.
  let schema: z.ZodType | undefined = ShoalConfigFields.shape[key];
  for (let depth = 0; schema !== undefined && depth < 4; depth++) {
    const meta = schema.meta();
    if (meta !== undefined) return meta as FieldMeta;
    schema = (schema._zod.def as { innerType?: z.ZodType }).innerType;
  }
  throw new Error(`config field ${key} has no help metadata`);
}

/** The variables the kubelet injects for a Service named shoal… (SHOAL_SERVICE_HOST, SHOAL_PEERS_PORT_3322_TCP, …). */
const SERVICE_LINK = /^SHOAL_\w*(SERVICE_HOST|SERVICE_PORT\w*|PORT_\d+_(TCP|UDP)\w*)$/;

const settingKeys = (): ConfigKey[] => Object.keys(ShoalConfigFields.shape) as ConfigKey[];

const squash = (name: string) => name.toLowerCase().replace(/[-_]/g, "");

function keyIndex(): Map<string, ConfigKey> {
  const index = new Map<string, ConfigKey>();
  for (const key of Object.keys(ShoalConfigFields.shape) as ConfigKey[]) {
    for (const name of [key, ...(fieldMeta(key).aliases ?? [])]) {
      index.set(squash(flagName(name)), key);
      index.set(squash(name), key);
    }
  }
  return index;
}

interface RawValue {
  value: unknown;
  label: string;
}

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

function issueLines(label: string, raw: unknown, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    let value = raw;
    for (const segment of issue.path) {
      // A comma-separated flag/env list is indexed like the list it becomes.
      if (typeof value === "string") value = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
      value = (value as Record<PropertyKey, unknown> | undefined)?.[segment];
    }
    const path = issue.path.map((segment) => (typeof segment === "string" ? yamlName(segment) : String(segment)));
    const where = path.length > 0 ? `${label}.${path.join(".")}` : label;
    return issue.code === "unrecognized_keys" ? `${where}: unknown setting(s) ${issue.keys.join(", ")}` : `${where}: ${issue.message}, got ${show(value)}`;
  });
}

function readFlags(argv: readonly string[], index: Map<string, ConfigKey>, problems: string[]) {
  const found = new Map<ConfigKey, RawValue>();
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      problems.push(`unexpected argument ${show(arg)} (flags look like --port 3320)`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    const key = index.get(squash(name));
    const isBool = key !== undefined && fieldMeta(key).kind === "bool";
    if (value === undefined && !(isBool && (argv[i + 1] === undefined || argv[i + 1]!.startsWith("--")))) {
      value = argv[i + 1];
      if (value === undefined) {
        problems.push(`--${name}: expected a value`);
        continue;
      }
      i++;
    }
    if (name === "config") {
      configPath = value;
    } else if (key === undefined || fieldMeta(key).yamlOnly) {
      const hint = didYouMean(`--${name}`, settingKeys().filter((k) => !fieldMeta(k).yamlOnly).map((k) => `--${flagName(k)}`));
      problems.push(hint === "" ? `--${name}: unknown flag (see shoal serve --help)` : `--${name}: unknown flag${hint}`);
    } else {
      found.set(key, { value: value ?? "true", label: `--${name}` });
    }
  }
  return { found, configPath };
}

function readEnv(env: ConfigSources["env"], problems: string[]): Map<ConfigKey, RawValue> {
  const found = new Map<ConfigKey, RawValue>();
  const known = new Set<string>(["SHOAL_CONFIG"]);
  for (const key of settingKeys()) {
    if (fieldMeta(key).yamlOnly) continue;
    for (const name of [key, ...(fieldMeta(key).aliases ?? [])]) known.add(envName(name));
  }
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("SHOAL_") || known.has(name) || isOtherShoalVariable(name)) continue;
    const yamlOnly = settingKeys().find((k) => fieldMeta(k).yamlOnly && envName(k) === name);
    if (yamlOnly !== undefined) problems.push(`${name}: ${yamlName(yamlOnly)} is set in shoal.yaml only`);
    else if (SERVICE_LINK.test(name)) problems.push(`${name}: unknown setting (a Kubernetes service link? set enableServiceLinks: false in the pod spec)`);
    else problems.push(`${name}: unknown setting${didYouMean(name, [...known].filter((k) => k !== "SHOAL_CONFIG"))}`);
  }
  for (const key of settingKeys()) {
    if (fieldMeta(key).yamlOnly) continue;
    for (const name of [key, ...(fieldMeta(key).aliases ?? [])].map(envName)) {
      const value = env[name];
      if (value !== undefined && value !== "") {
        found.set(key, { value, label: name });
        break;
      }
    }
  }
  return found;
}

function readYaml(path: string, text: string, index: Map<string, ConfigKey>, problems: string[]) {
  const found = new Map<ConfigKey, RawValue>();
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push(`${path}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
    return found;
  }
  if (doc === null || doc === undefined) return found;
  if (typeof doc !== "object" || Array.isArray(doc)) {
    problems.push(`${path}: expected a mapping of settings at the top level`);
    return found;
  }
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = index.get(squash(name));
    if (key === undefined) problems.push(`${path}: ${name}: unknown setting${didYouMean(name, settingKeys().map(yamlName))}`);
    else if (key === "maps") found.set(key, { value: normalizeMaps(value), label: `${path}: ${name}` });
    else found.set(key, { value, label: `${path}: ${name}` });
  }
  return found;
}

/** Accepts snake/kebab/camel keys inside `maps.<name>` and maps them to MapOverride field names. */
function normalizeMaps(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const names = new Map(Object.keys(MapOverride.shape).map((k) => [squash(flagName(k)), k]));
  const out: Record<string, unknown> = {};
  for (const [map, settings] of Object.entries(value as Record<string, unknown>)) {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      out[map] = settings;
      continue;
    }
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(settings as Record<string, unknown>)) entry[names.get(squash(k)) ?? k] = v;
    out[map] = entry;
  }
  return out;
}

/**
 * Builds the configuration from flags, env and the YAML file (`--config path`,
 * else SHOAL_CONFIG, else ./shoal.yaml when it exists).
 * @throws ConfigError listing every bad field, e.g. `--port: expected an integer 1-65535, got "abc"`.
 */
export function loadConfig(sources: ConfigSources): ShoalConfig {
  return loadConfigWithOrigins(sources).config;
}

/** A configuration and where each explicitly given setting came from. */
export interface LoadedConfig {
  config: ShoalConfig;
  /** Every setting given by a flag, SHOAL_* variable or the YAML file → its label (`--peers`, `SHOAL_PEERS`, `shoal.yaml: peers`). Defaults are absent. */
  given: ReadonlyMap<ConfigKey, string>;
}

/** {@link loadConfig}, also telling which settings were given and where (the Deno entry refuses those it does not honour). */
export function loadConfigWithOrigins(sources: ConfigSources): LoadedConfig {
  const problems: string[] = [];
  const index = keyIndex();
  const flags = readFlags(sources.argv, index, problems);
  const env = readEnv(sources.env, problems);
  const explicitPath = flags.configPath ?? sources.env["SHOAL_CONFIG"];
  const path = explicitPath ?? "shoal.yaml";
  let file = new Map<ConfigKey, RawValue>();
  const pathLabel = flags.configPath !== undefined ? "--config" : explicitPath !== undefined ? "SHOAL_CONFIG" : path;
  let text: string | null = null;
  try {
    text = sources.readFile(path);
  } catch (err) {
    problems.push(`${pathLabel}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (text !== null) file = readYaml(path, text, index, problems);
  else if (explicitPath !== undefined && problems.length === 0) problems.push(`${pathLabel}: file not found: ${path}`);

  const input: Record<string, unknown> = {};
  const labels = new Map<ConfigKey, string>();
  for (const key of Object.keys(ShoalConfigFields.shape) as ConfigKey[]) {
    const raw = flags.found.get(key) ?? env.get(key) ?? file.get(key);
    if (raw === undefined) continue;
    const parsed = ShoalConfigFields.shape[key].safeParse(raw.value);
    if (parsed.success) input[key] = parsed.data;
    else problems.push(...issueLines(raw.label, raw.value, parsed.error));
    labels.set(key, raw.label);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const result = ShoalConfig.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = String(issue.path[0]);
        return `${labels.get(key as ConfigKey) ?? `--${flagName(key)}`}: ${issue.message}`;
      }),
    );
  }
  const config = result.data;
  if (config.nodeName === "") config.nodeName = `${sources.hostname ?? "shoal"}-${config.port}`;
  return { config, given: labels };
}
