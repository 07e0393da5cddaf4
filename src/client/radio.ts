/**
 * A transport wrapper that plays the device's radio: while it is off
 * (queue mode, asleep), datagrams arriving from the network are dropped, as
 * a sleeping device drops them — nothing is answered, not even an ACK, so a
 * server sees exactly what a real sleeping device shows it. Sending is not
 * gated: the client turns the radio on before it sends.
 */
import type { DatagramHandler, Peer, Transport, TransportAddress } from '../coap/transport.js';

export class Radio implements Transport {
  private on = true;
  private handler: DatagramHandler | null = null;
  /** Datagrams dropped while the radio was off. */
  dropped = 0;

  constructor(private readonly inner: Transport) {
    inner.setHandler((datagram, peer) => {
      if (!this.on) {
        this.dropped++;
        return;
      }
      this.handler?.(datagram, peer);
    });
  }

  get isOn(): boolean {
    return this.on;
  }

  switchOn(): void {
    this.on = true;
  }

  switchOff(): void {
    this.on = false;
  }

  setHandler(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(datagram: Buffer, peer: Peer): void {
    this.inner.send(datagram, peer);
  }

  address(): TransportAddress {
    return this.inner.address();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
