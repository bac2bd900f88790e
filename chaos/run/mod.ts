/**
 * `shoal chaos --real --run "<command>"`: the user's own tests against a
 * cluster under faults. options.ts (flags), client-faults.ts (the client
 * fault spec), proxy.ts (the proxies applying them), control.ts
 * (SHOAL_CHAOS_URL), command.ts (the command's process group), run.ts (one
 * run), summary.ts (text); the report model is chaos/report.ts and the
 * JUnit rendering chaos/junit.ts.
 */
import { writeFileSync } from "node:fs";
import { UsageError } from "../../cmd/io.ts";
import { renderChaosHtml } from "../html-report.ts";
import { junitXml } from "../junit.ts";
import { pictureOfRun } from "../pictures.ts";
import { REAL_HELP } from "../real/options.ts";
import { thisProgram } from "../real/spawn.ts";
import { parseRunOptions, RUN_HELP, type RunOptions } from "./options.ts";
import { runWithCommand } from "./run.ts";
import { formatRunSummary } from "./summary.ts";

export { isRunMode } from "./options.ts";

const say = (line: string) => process.stderr.write(`shoal chaos: ${line}\n`);

/** Writes `text` to `file`; false (after saying why) when it cannot. */
function writeOut(file: string, text: string, what: string): boolean {
  try {
    writeFileSync(file, text);
    return true;
  } catch (err) {
    say(`cannot write the ${what} to ${file}: ${(err as Error).message}`);
    return false;
  }
}

/** `shoal chaos --real --run …` (argv without `chaos` and `--real`); resolves with the exit status. */
export async function runMain(argv: string[]): Promise<number> {
  let o: RunOptions | null;
  try {
    o = parseRunOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`shoal chaos --real --run: ${err.message}\nRun 'shoal chaos --real --help' for usage.\n`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(REAL_HELP + RUN_HELP);
    return 0;
  }
  const report = await runWithCommand(o, { say, program: thisProgram() });
  process.stderr.write(formatRunSummary(report));
  let ok = true;
  if (o.reportFile) {
    const html = /\.html?$/i.test(o.reportFile);
    ok = writeOut(o.reportFile, html ? renderChaosHtml(pictureOfRun(report)) : `${JSON.stringify(report, null, 2)}\n`, html ? "HTML report" : "report") && ok;
  }
  if (o.junitFile) ok = writeOut(o.junitFile, junitXml(report), "JUnit XML") && ok;
  return report.exitStatus === 0 && !ok ? 1 : report.exitStatus;
}
