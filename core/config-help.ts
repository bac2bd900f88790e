/**
 * `shoal serve --help` text, generated from the config schema's metadata so
 * a new field is documented the moment it is added.
 */
import { type ConfigKey, PRESETS, ShoalConfigFields } from "./config.ts";
import { envName, fieldMeta, flagName, yamlName } from "./config-load.ts";
import { OTHER_SHOAL_VARIABLES, OTHER_VARIABLES } from "./config-names.ts";
import { formatDuration, formatSize } from "./units.ts";

function shownDefault(key: ConfigKey): string {
  const meta = fieldMeta(key);
  if (meta.shown !== undefined) return meta.shown;
  if (meta.preset) {
    const lan = PRESETS.lan[key as keyof (typeof PRESETS)["lan"]];
    const fmt = (v: number) => (meta.kind === "duration" ? formatDuration(v) : String(v));
    return `${fmt(PRESETS.local[key as keyof (typeof PRESETS)["local"]])}/${fmt(lan)}/${fmt(PRESETS.wan[key as keyof (typeof PRESETS)["wan"]])} by preset`;
  }
  const parsed = ShoalConfigFields.shape[key].safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return "none";
  const value = parsed.data as unknown;
  if (meta.kind === "duration") return formatDuration(value as number);
  if (meta.kind === "size") return formatSize(value as number);
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(",");
  return String(value);
}

/** Help for `shoal serve`: every field with its flag, env variable, YAML key and default. */
export function configHelp(): string {
  const keys = Object.keys(ShoalConfigFields.shape) as ConfigKey[];
  const groups = new Map<string, ConfigKey[]>();
  for (const key of keys) {
    const group = fieldMeta(key).group;
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  const lines = [
    "Usage: shoal serve [flags]",
    "",
    "Starts a node. Every flag is also an env variable (SHOAL_<NAME>) and a shoal.yaml key",
    "(snake_case). Precedence: flags > env > shoal.yaml > preset > defaults.",
    "Durations: 500ms, 5s, 2m, 1h (or milliseconds). Sizes: 64kb, 512mb, 1gb (or bytes).",
    "",
    "  --config <path>                  YAML file (env SHOAL_CONFIG; default ./shoal.yaml if present)",
    "  -h, --help                       show this help",
  ];
  for (const [group, members] of groups) {
    lines.push("", `${group}:`);
    for (const key of members) {
      const meta = fieldMeta(key);
      if (meta.yamlOnly) {
        lines.push(`  ${`${yamlName(key)}: (shoal.yaml only)`.padEnd(32)} ${meta.description}`);
        continue;
      }
      const flag = `--${flagName(key)} ${meta.arg}`;
      const text = `${meta.description} [default ${shownDefault(key)}]`;
      if (flag.length < 32) lines.push(`  ${flag.padEnd(32)} ${text}`);
      else lines.push(`  ${flag}`, `  ${"".padEnd(32)} ${text}`);
      lines.push(`  ${"".padEnd(32)} env ${envName(key)}, yaml ${yamlName(key)}`);
    }
  }
  lines.push(
    "",
    "Other environment variables (not settings). Any other SHOAL_* variable is refused",
    "like an unknown flag, so a misspelt one cannot be silently ignored:",
  );
  for (const v of [...OTHER_SHOAL_VARIABLES, ...OTHER_VARIABLES]) lines.push(`  ${v.name.padEnd(32)} ${v.description}`);
  return `${lines.join("\n")}\n`;
}
