/**
 * Redis compatibility: the same scripted commands go to redis-server and to a
 * shoal node over raw TCP, and the reply BYTES must match (after the
 * per-step normalizations documented in compat-runner.ts). Every mismatch is
 * printed with exact bytes and written to /tmp/compat-mismatches.txt.
 *
 * Needs redis-server: skipped off CI without it, a failure in CI (tests/helpers/prerequisites.ts).
 * COMPAT_AGAINST_REDIS=1 compares redis-server with a second redis-server: a
 * self-check that the harness and its normalizations produce no false alarms.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { describeIf, missingProgram } from "../../helpers/prerequisites.ts";
import { type ServerProcess, startRedis, startShoal } from "../../helpers/processes.ts";
import { collectionGroups } from "./compat-cases-collections.ts";
import { keyGroups } from "./compat-cases-keys.ts";
import { keyspaceGroups } from "./compat-cases-keyspace.ts";
import { authGroups, serverGroups } from "./compat-cases-server.ts";
import { stringGroups } from "./compat-cases-strings.ts";
import { type Group, runGroup } from "./compat-runner.ts";

const REPORT = "/tmp/compat-mismatches.txt";
const groups: Group[] = [...stringGroups, ...keyGroups, ...serverGroups, ...collectionGroups, ...keyspaceGroups];
const noRedis = missingProgram("redis-server", "redis-server");

describeIf(noRedis)("redis compatibility (reply bytes vs redis-server)", () => {
  let redis: ServerProcess;
  let shoal: ServerProcess;
  let totalSteps = 0;
  let totalMismatches = 0;
  const notImplemented: string[] = [];

  beforeAll(async () => {
    writeFileSync(REPORT, `# shoal vs redis-server reply mismatches, ${new Date().toISOString()}\n`);
    [redis, shoal] = await Promise.all([startRedis(), process.env.COMPAT_AGAINST_REDIS ? startRedis() : startShoal()]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), shoal?.stop()]);
    const summary = `redis-compat: ${totalSteps} commands compared, ${totalMismatches} mismatches, ${notImplemented.length} optional commands not implemented`;
    console.log(summary);
    if (notImplemented.length > 0) console.log(`not implemented (optional):\n  ${notImplemented.join("\n  ")}`);
    appendFileSync(REPORT, `# ${summary}\n${notImplemented.map((n) => `# not implemented (optional): ${n}\n`).join("")}`);
  });

  for (const group of groups) {
    test(group.name, async () => {
      const result = await runGroup(group, redis.port, shoal.port);
      totalSteps += result.steps;
      totalMismatches += result.mismatches.length;
      notImplemented.push(...result.notImplemented);
      if (result.mismatches.length > 0) {
        appendFileSync(REPORT, `${result.mismatches.join("\n")}\n`);
        console.log(result.mismatches.join("\n"));
      }
      expect(result.mismatches).toEqual([]);
    });
  }
});

describeIf(noRedis)("redis compatibility with --requirepass (reply bytes vs redis-server)", () => {
  let redis: ServerProcess;
  let shoal: ServerProcess;
  const pass = ["--requirepass", "secret"];

  beforeAll(async () => {
    [redis, shoal] = await Promise.all([startRedis(pass), process.env.COMPAT_AGAINST_REDIS ? startRedis(pass) : startShoal({ args: pass })]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), shoal?.stop()]);
  });

  for (const group of authGroups) {
    test(group.name, async () => {
      const result = await runGroup(group, redis.port, shoal.port);
      if (result.mismatches.length > 0) {
        appendFileSync(REPORT, `${result.mismatches.join("\n")}\n`);
        console.log(result.mismatches.join("\n"));
      }
      expect(result.mismatches).toEqual([]);
    });
  }
});
