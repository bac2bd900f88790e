/**
 * A node binds one address and is known by another: bound to `0.0.0.0:3322`
 * (or a private address behind NAT) it must still name itself
 * `10.0.0.5:3322` to its peers. This wrapper lets the cluster layer listen on
 * its member name (the advertised address) while the socket binds the bind
 * address; everything else passes through. The dialer's hello carries the
 * advertised name, so the listener on the other side reports it as `from`.
 */
import type { Link, Listener, PeerHandler, Transport } from "../core/transport.ts";

/** Listens on `bindAddress` when asked to listen on `advertised`; otherwise the inner transport unchanged. */
export class AdvertisedTransport implements Transport {
  readonly name: string;

  /**
   * @param inner the real peer transport (tcp, tls, quic…)
   * @param advertised the member name, `host:port` other nodes dial
   * @param bindAddress the `host:port` the socket binds (e.g. `0.0.0.0:3322`)
   */
  constructor(
    private readonly inner: Transport,
    readonly advertised: string,
    readonly bindAddress: string,
  ) {
    this.name = inner.name;
  }

  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    if (address !== this.advertised) return this.inner.listen(address, handler);
    const bound = await this.inner.listen(this.bindAddress, handler);
    return { address: this.advertised, close: () => bound.close() };
  }

  connect(address: string, localAddress: string): Link {
    return this.inner.connect(address, localAddress);
  }
}
