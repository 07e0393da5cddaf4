/**
 * Client role of the PSK handshake (RFC 6347 §4.2.4 flights 1, 3 and 5):
 *
 *   ClientHello                                   →
 *                                                 ←  HelloVerifyRequest(cookie)   (optional)
 *   ClientHello(cookie)                           →
 *                                                 ←  ServerHello, [ServerKeyExchange], ServerHelloDone
 *   ClientKeyExchange, [ChangeCipherSpec], Finished →
 *                                                 ←  [ChangeCipherSpec], Finished
 *
 * Offers extended master secret (and requires nothing of it), the
 * renegotiation SCSV, and encrypt-then-MAC when a CBC suite is offered.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.js';
import { AlertDescription, DTLS_1_2, EMPTY_RENEGOTIATION_INFO_SCSV, ExtensionType, HandshakeType } from './constants.js';
import { DtlsError } from './errors.js';
import type { HandshakeMessage } from './handshake.js';
import { deriveKeys, type ConnectionKeys, type NegotiatedParameters } from './keys.js';
import { decodeHelloVerifyRequest, decodePskField, decodeServerHello, encodeClientHello, encodePskField, findExtension, RANDOM_LENGTH, type ClientHello, type Extension } from './messages.js';
import { finishedVerifyData } from './prf.js';
import { DtlsSession, type SessionHost, type SessionOptions } from './session.js';

export interface ClientHandshakeConfig {
  identity: string;
  psk: Buffer;
  /** Suites we offer, in our order of preference. */
  cipherSuites: readonly CipherSuite[];
}

/** More HelloVerifyRequests than this means a server that never accepts our cookie. */
const MAX_HELLO_VERIFY_REQUESTS = 4;

type Expecting = 'server-hello' | 'server-key-exchange-or-done' | 'server-hello-done' | 'finished';

export class ClientSession extends DtlsSession {
  private expecting: Expecting = 'server-hello';
  private hello: ClientHello;
  private helloVerifyRequests = 0;
  private params: NegotiatedParameters | null = null;
  private keys: ConnectionKeys | null = null;
  /** The PSK identity hint the server sent, if any. */
  identityHint: string | undefined;

  constructor(
    host: SessionHost,
    options: SessionOptions,
    label: string,
    private readonly config: ClientHandshakeConfig,
  ) {
    super(host, options, label);
    if (config.psk.length === 0 || config.psk.length > 0xffff) throw new DtlsError(AlertDescription.InternalError, 'PSK must be 1..65535 bytes');
    const extensions: Extension[] = [{ type: ExtensionType.ExtendedMasterSecret, data: Buffer.alloc(0) }];
    if (config.cipherSuites.some((s) => s.kind === 'cbc')) extensions.push({ type: ExtensionType.EncryptThenMac, data: Buffer.alloc(0) });
    this.hello = {
      version: DTLS_1_2,
      random: randomBytes(RANDOM_LENGTH),
      sessionId: Buffer.alloc(0),
      cookie: Buffer.alloc(0),
      cipherSuites: [...config.cipherSuites.map((s) => s.id), EMPTY_RENEGOTIATION_INFO_SCSV],
      compressionMethods: [0],
      extensions,
    };
  }

  start(): void {
    try {
      this.options.stats.handshakesStarted++;
      this.sendHello();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Sends the ClientHello (again, with the cookie, after a HelloVerifyRequest); the transcript starts with it. */
  private sendHello(): void {
    this.resetTranscript();
    const message = this.nextMessage(HandshakeType.ClientHello, encodeClientHello(this.hello));
    this.sendFlight([{ kind: 'handshake', message, epoch: 0 }], false);
  }

  protected onHandshakeMessage(message: HandshakeMessage): void {
    switch (this.expecting) {
      case 'server-hello':
        if (message.type === HandshakeType.HelloVerifyRequest) return this.onHelloVerifyRequest(message);
        if (message.type !== HandshakeType.ServerHello) throw unexpected(message, 'ServerHello');
        return this.onServerHello(message);
      case 'server-key-exchange-or-done':
        if (message.type === HandshakeType.ServerKeyExchange) {
          this.identityHint = decodePskField(message.body, 'ServerKeyExchange').toString('utf8');
          this.addToTranscript(message);
          this.expecting = 'server-hello-done';
          return;
        }
        if (message.type !== HandshakeType.ServerHelloDone) throw unexpected(message, 'ServerKeyExchange or ServerHelloDone');
        return this.onServerHelloDone(message);
      case 'server-hello-done':
        if (message.type !== HandshakeType.ServerHelloDone) throw unexpected(message, 'ServerHelloDone');
        return this.onServerHelloDone(message);
      case 'finished':
        if (message.type !== HandshakeType.Finished) throw unexpected(message, 'Finished');
        return this.onFinished(message);
    }
  }

  private onHelloVerifyRequest(message: HandshakeMessage): void {
    if (++this.helloVerifyRequests > MAX_HELLO_VERIFY_REQUESTS) {
      throw new DtlsError(AlertDescription.HandshakeFailure, 'server keeps sending HelloVerifyRequest');
    }
    const { cookie } = decodeHelloVerifyRequest(message.body);
    if (cookie.length > 255) throw new DtlsError(AlertDescription.IllegalParameter, 'cookie too long');
    // Same random and parameters, now with the cookie (RFC 6347 §4.2.1). Neither the first
    // ClientHello nor the HelloVerifyRequest enters the transcript (§4.2.6).
    this.hello = { ...this.hello, cookie: Buffer.from(cookie) };
    this.sendHello();
  }

  private onServerHello(message: HandshakeMessage): void {
    const sh = decodeServerHello(message.body);
    if (sh.version !== DTLS_1_2) throw new DtlsError(AlertDescription.ProtocolVersion, `server chose version 0x${sh.version.toString(16)}`);
    const suite = this.config.cipherSuites.find((s) => s.id === sh.cipherSuite);
    if (!suite) throw new DtlsError(AlertDescription.IllegalParameter, `server chose a suite we did not offer (0x${sh.cipherSuite.toString(16)})`);
    if (sh.compressionMethod !== 0) throw new DtlsError(AlertDescription.IllegalParameter, 'server chose a compression method');
    const reneg = findExtension(sh.extensions, ExtensionType.RenegotiationInfo);
    if (reneg && !(reneg.data.length === 1 && reneg.data[0] === 0)) {
      throw new DtlsError(AlertDescription.HandshakeFailure, 'server renegotiation_info is not empty');
    }
    for (const ext of sh.extensions) {
      const offered = ext.type === ExtensionType.RenegotiationInfo || this.hello.extensions.some((e) => e.type === ext.type);
      if (!offered) throw new DtlsError(AlertDescription.UnsupportedExtension, `server sent extension ${ext.type} we did not offer`);
    }
    this.params = {
      suite,
      clientRandom: this.hello.random,
      serverRandom: sh.random,
      extendedMasterSecret: findExtension(sh.extensions, ExtensionType.ExtendedMasterSecret) !== undefined,
      encryptThenMac: suite.kind === 'cbc' && findExtension(sh.extensions, ExtensionType.EncryptThenMac) !== undefined,
    };
    this.addToTranscript(message);
    this.expecting = 'server-key-exchange-or-done';
  }

  private onServerHelloDone(message: HandshakeMessage): void {
    if (message.body.length !== 0) throw new DtlsError(AlertDescription.DecodeError, 'ServerHelloDone is not empty');
    this.addToTranscript(message);
    const keyExchange = this.nextMessage(HandshakeType.ClientKeyExchange, encodePskField(Buffer.from(this.config.identity, 'utf8')));
    this.keys = deriveKeys(this.params!, this.config.psk, this.transcriptHash());
    const verify = finishedVerifyData(this.keys.master, 'client', this.transcriptHash());
    const epoch = this.startWriteEpoch(this.keys.clientWrite);
    const finished = this.nextMessage(HandshakeType.Finished, verify);
    this.setPendingRead(this.keys.serverWrite);
    this.expecting = 'finished';
    this.sendFlight([
      { kind: 'handshake', message: keyExchange, epoch: 0 },
      { kind: 'ccs', epoch: 0 },
      { kind: 'handshake', message: finished, epoch },
    ], false);
  }

  private onFinished(message: HandshakeMessage): void {
    if (this.currentReadEpoch === 0) throw new DtlsError(AlertDescription.UnexpectedMessage, 'Finished before ChangeCipherSpec');
    const expected = finishedVerifyData(this.keys!.master, 'server', this.transcriptHash());
    if (message.body.length !== expected.length || !timingSafeEqual(message.body, expected)) {
      throw new DtlsError(AlertDescription.DecryptError, 'server Finished does not verify');
    }
    this.identity = this.config.identity;
    this.finishHandshake(false);
  }

  /** The negotiated cipher suite (once the ServerHello arrived). */
  get cipherSuite(): CipherSuite | undefined {
    return this.params?.suite;
  }
}

function unexpected(message: HandshakeMessage, wanted: string): DtlsError {
  return new DtlsError(AlertDescription.UnexpectedMessage, `expected ${wanted}, got handshake message type ${message.type}`);
}
