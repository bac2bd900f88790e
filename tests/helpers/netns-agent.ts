/**
 * The agent {@link HostLab.agent} starts inside a namespace host: reads one
 * JSON request per line on stdin (`{ id, module, fn, args }`), imports
 * `module`, awaits `fn(...args)` and writes `@@shf-agent {id, ok, value|error}`
 * on stdout. Calls run concurrently. Exits when stdin closes.
 */
export const MARK = "@@shf-agent ";
const write = (line: string) => process.stdout.write(`${MARK}${line}\n`);

async function handle(line: string): Promise<void> {
  let req: { id: number; module: string; fn: string; args: unknown[] };
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  try {
    const mod = (await import(req.module)) as Record<string, unknown>;
    const fn = mod[req.fn];
    if (typeof fn !== "function") throw new Error(`${req.module} exports no function ${req.fn}`);
    const value = await (fn as (...a: unknown[]) => unknown)(...req.args);
    write(JSON.stringify({ id: req.id, ok: true, value: value ?? null }));
  } catch (err) {
    write(JSON.stringify({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }));
  }
}

write("ready");
let buffered = "";
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  buffered += decoder.decode(chunk);
  let nl = buffered.indexOf("\n");
  while (nl >= 0) {
    void handle(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    nl = buffered.indexOf("\n");
  }
}
process.exit(0);
