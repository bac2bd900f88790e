/**
 * The live feed's Web Worker: holds the EventSource on /ui/events and
 * decodes each message off the page's main thread, which only draws. (It
 * also keeps the open stream out of the page's own network activity, so a
 * headless `chromium --dump-dom --virtual-time-budget` of /ui finishes.)
 * Messages to the page: {type: "snapshot" | "delta", state}, {type: "status", status}.
 */
const scope = globalThis as unknown as { location: { href: string }; postMessage(m: unknown): void };

const url = new URL("events", scope.location.href);
const source = new EventSource(url.href);
const post = (type: string, data: string): void => {
  try {
    scope.postMessage({ type, state: JSON.parse(data) });
  } catch (e) {
    scope.postMessage({ type: "status", status: "error", detail: String(e) });
  }
};
source.addEventListener("snapshot", (e) => post("snapshot", (e as MessageEvent<string>).data));
source.addEventListener("delta", (e) => post("delta", (e as MessageEvent<string>).data));
source.addEventListener("busy", () => {
  source.close();
  scope.postMessage({ type: "status", status: "busy" });
});
source.onopen = () => scope.postMessage({ type: "status", status: "live" });
source.onerror = () => scope.postMessage({ type: "status", status: source.readyState === EventSource.CLOSED ? "closed" : "reconnecting" });
