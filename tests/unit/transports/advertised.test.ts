import { expect, test } from "bun:test";
import { freePort } from "../../../cmd/ports.ts";
import { AdvertisedTransport } from "../../../transports/advertised.ts";
import { TcpTransport } from "../../../transports/tcp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("listens on the bind address under the advertised name; peers see the dialer's advertised name", async () => {
  const port = await freePort();
  // the advertised host does not even exist here: only the name travels, the socket binds 127.0.0.1
  const a = new AdvertisedTransport(new TcpTransport(), `[fd00::a]:${port}`, `127.0.0.1:${port}`);
  const froms: string[] = [];
  const l = await a.listen(`[fd00::a]:${port}`, {
    onRequest: (from, payload) => {
      froms.push(from);
      return enc.encode(`${dec.decode(payload)} from ${from}`);
    },
    onMessage: () => {},
  });
  expect(l.address).toBe(`[fd00::a]:${port}`);
  const b = new AdvertisedTransport(new TcpTransport(), "10.9.9.9:3322", "0.0.0.0:3322");
  const link = b.connect(`127.0.0.1:${port}`, "10.9.9.9:3322");
  try {
    expect(dec.decode(await link.request(enc.encode("hi"), 2000))).toBe("hi from 10.9.9.9:3322");
    expect(froms).toEqual(["10.9.9.9:3322"]);
  } finally {
    link.close();
    await l.close();
  }
});

test("any other address is listened on as given", async () => {
  const a = new AdvertisedTransport(new TcpTransport(), "10.0.0.1:3322", "0.0.0.0:3322");
  const l = await a.listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
  try {
    expect(l.address).toMatch(/^127\.0\.0\.1:\d+$/);
  } finally {
    await l.close();
  }
});
