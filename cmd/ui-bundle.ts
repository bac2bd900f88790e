/**
 * Bundles the dashboard's browser code (ui/app.ts, ui/worker.ts with uPlot)
 * and styles into strings. cmd/ui-assets.ts imports this as a Bun macro, so
 * it runs when the code is bundled — `bun build --compile` puts the result
 * inside the binary and nothing is built or fetched at run time — and when
 * Bun transpiles the source (tests, `bun cmd/shoal.ts`). A bundling error
 * fails the build with bun's message.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** One browser bundle of `entry` (minified IIFE); throws with bun's output when it fails. */
function bundle(entry: string): string {
  // Bun.build cannot run inside a macro (the bundler waits for the macro): the CLI does it
  const r = Bun.spawnSync([process.execPath, "build", join(ROOT, entry), "--target=browser", "--format=iife", "--minify"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new Error(`bundling ${entry} failed:\n${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout.toString();
}

/** The page's script, the feed's worker, the stylesheet and a version hash of the three. */
export function bundleUi(): { appJs: string; workerJs: string; css: string; version: string } {
  const appJs = bundle("ui/app.ts");
  const workerJs = bundle("ui/worker.ts");
  const css = `${readFileSync(join(ROOT, "node_modules/uplot/dist/uPlot.min.css"), "utf8")}\n${readFileSync(join(ROOT, "ui/app.css"), "utf8")}`;
  const version = Bun.hash(appJs + workerJs + css).toString(36).slice(0, 10);
  return { appJs, workerJs, css, version };
}
