/**
 * The user's command under `shoal chaos --real --run`, as real processes:
 * its exit status (and 128+n for a signal), its output captured and passed
 * through, a signal forwarded to its whole process group, and whatever it
 * leaves running ended at the end (SIGTERM, then SIGKILL for what ignores it).
 */
import { describe, expect, test } from "bun:test";
import { sessionMembers, UserCommand } from "../../../chaos/run/command.ts";

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
const alive = (pid: number) => sessionMembers(pid).length > 0;

describe("UserCommand", () => {
  test("exit status, captured output tail, environment", async () => {
    const c = new UserCommand('echo "out $MARK"; echo err >&2; exit 3', { ...env, MARK: "m1" }, true);
    const r = await c.exited();
    await c.flushed();
    expect(r).toMatchObject({ exitCode: 3, signal: null, status: 3 });
    expect(c.stdoutTail.text()).toBe("out m1\n");
    expect(c.stderrTail.text()).toBe("err\n");
    expect(await c.killGroup(1000)).toBe(0);
  });

  test("a signal that ends it is reported shell-style (128 + n)", async () => {
    const c = new UserCommand("kill -TERM $$; sleep 5", env, false);
    expect(await c.exited()).toMatchObject({ exitCode: null, signal: "SIGTERM", status: 143 });
  });

  test("a forwarded SIGINT reaches the command's group", async () => {
    const c = new UserCommand("trap 'exit 7' INT; sleep 20 & wait", env, false);
    await Bun.sleep(300);
    c.signal("SIGINT");
    const r = await c.exited();
    expect(r.status).toBe(7);
    await c.killGroup(1000);
    expect(c.groupAlive()).toBe(false);
  });

  test("processes it leaves behind are ended, also one that ignores SIGTERM", async () => {
    const c = new UserCommand("sleep 300 & (trap '' TERM; sleep 300) & exit 0", env, false);
    expect((await c.exited()).status).toBe(0);
    await Bun.sleep(100);
    expect(c.groupAlive()).toBe(true);
    const killed = await c.killGroup(500);
    expect(killed).toBeGreaterThanOrEqual(1);
    expect(c.groupAlive()).toBe(false);
    expect(alive(c.pid)).toBe(false);
  });
});
