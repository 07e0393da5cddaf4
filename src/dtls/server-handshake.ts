/**
 * Server role of the PSK handshake (RFC 6347 §4.2.4 flights 4 and 6), for a
 * client that already proved its address with a valid cookie:
 *
 *   ClientHello(cookie)  →
 *                        ←  ServerHello, [ServerKeyExchange(hint)], ServerHelloDone
 *   ClientKeyExchange, [ChangeCipherSpec], Finished  →
 *                        ←  [ChangeCipherSpec], Finished
 *
 * Extended master secret (RFC 7627) when the client offers it; an empty
 * renegotiation_info (RFC 5746) whenever the client signals support (OpenSSL
 * 3 clients insist on it); encrypt-then-MAC (RFC 7366) for CBC suites when
 * offered. No session resumption: every connection runs a full handshake.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.js';
import { AlertDescription, DTLS_1_2, EMPTY_RENEGOTIATION_INFO_SCSV, ExtensionType, HandshakeType } from './constants.js';
import { DtlsError } from './errors.js';
import type { HandshakeMessage } from './handshake.js';
import { deriveKeys, type ConnectionKeys, type NegotiatedParameters } from './keys.js';
import { decodePskField, encodePskField, encodeServerHello, findExtension, RANDOM_LENGTH, type ClientHello, type Extension } from './messages.js';
import { finishedVerifyData } from './prf.js';
import { DtlsSession, type SessionHost, type SessionOptions } from './session.js';

/** Returns the key of a PSK identity, or undefined when the identity is unknown. */
export type PskLookup = (identity: string) => Buffer | undefined;

export interface ServerHandshakeConfig {
  psk: PskLookup;
  /** Sent in a ServerKeyExchange when set (some clients, node-dtls-client among them, fail on it). */
  pskIdentityHint?: string;
  /** Suites we accept, in our order of preference. */
  cipherSuites: readonly CipherSuite[];
}

/** The ClientHello that opened the handshake, as received. */
export interface OpeningHello {
  message: HandshakeMessage;
  hello: ClientHello;
  /** Its record sequence number (our epoch-0 records continue from it). */
  recordSeq: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Expecting = 'client-key-exchange' | 'finished';

export class ServerSession extends DtlsSession {
  private expecting: Expecting = 'client-key-exchange';
  private params: NegotiatedParameters | null = null;
  private keys: ConnectionKeys | null = null;

  constructor(
    host: SessionHost,
    options: SessionOptions,
    label: string,
    private readonly config: ServerHandshakeConfig,
    private readonly opening: OpeningHello,
  ) {
    super(host, options, label);
  }

  /** True when `hello` repeats the ClientHello this handshake answers (a retransmission, not a new connection). */
  isSameHello(hello: ClientHello): boolean {
    return hello.random.equals(this.opening.hello.random);
  }

  start(): void {
    try {
      this.options.stats.handshakesStarted++;
      this.answerHello();
    } catch (err) {
      this.fail(err);
    }
  }

  private answerHello(): void {
    const { hello, message, recordSeq } = this.opening;
    // DTLS versions count down: a client whose highest version is above 0xfefd (i.e. 1.0 only) cannot speak 1.2.
    if (hello.version > DTLS_1_2) throw new DtlsError(AlertDescription.ProtocolVersion, `client offers only DTLS version 0x${hello.version.toString(16)}`);
    if (!hello.compressionMethods.includes(0)) throw new DtlsError(AlertDescription.IllegalParameter, 'client does not offer the null compression method');
    const suite = this.config.cipherSuites.find((s) => hello.cipherSuites.includes(s.id));
    if (!suite) throw new DtlsError(AlertDescription.HandshakeFailure, `no common cipher suite (client offers ${hello.cipherSuites.map((s) => '0x' + s.toString(16)).join(', ')})`);

    const reneg = findExtension(hello.extensions, ExtensionType.RenegotiationInfo);
    if (reneg && !(reneg.data.length === 1 && reneg.data[0] === 0)) {
      throw new DtlsError(AlertDescription.HandshakeFailure, 'renegotiation_info is not empty on an initial handshake');
    }
    const secureRenegotiation = reneg !== undefined || hello.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV);
    const ems = findExtension(hello.extensions, ExtensionType.ExtendedMasterSecret) !== undefined;
    const etm = suite.kind === 'cbc' && findExtension(hello.extensions, ExtensionType.EncryptThenMac) !== undefined;

    const serverRandom = randomBytes(RANDOM_LENGTH);
    this.params = { suite, clientRandom: hello.random, serverRandom, extendedMasterSecret: ems, encryptThenMac: etm };

    const extensions: Extension[] = [];
    if (secureRenegotiation) extensions.push({ type: ExtensionType.RenegotiationInfo, data: Buffer.from([0]) });
    if (ems) extensions.push({ type: ExtensionType.ExtendedMasterSecret, data: Buffer.alloc(0) });
    if (etm) extensions.push({ type: ExtensionType.EncryptThenMac, data: Buffer.alloc(0) });

    // Errata 5186: our first message after the cookie exchange takes the ClientHello's message_seq.
    this.nextSendSeq = message.messageSeq;
    this.reassembler.reset(message.messageSeq + 1);
    this.setInitialRecordSeq(recordSeq);
    this.addToTranscript(message);

    const flight = [
      this.nextMessage(HandshakeType.ServerHello, encodeServerHello({
        version: DTLS_1_2, random: serverRandom, sessionId: Buffer.alloc(0), cipherSuite: suite.id, compressionMethod: 0, extensions,
      })),
    ];
    if (this.config.pskIdentityHint !== undefined) {
      flight.push(this.nextMessage(HandshakeType.ServerKeyExchange, encodePskField(Buffer.from(this.config.pskIdentityHint, 'utf8'))));
    }
    flight.push(this.nextMessage(HandshakeType.ServerHelloDone, Buffer.alloc(0)));
    this.sendFlight(flight.map((m) => ({ kind: 'handshake' as const, message: m, epoch: 0 })), false);
  }

  protected onHandshakeMessage(message: HandshakeMessage): void {
    if (this.expecting === 'client-key-exchange') {
      if (message.type !== HandshakeType.ClientKeyExchange) throw unexpected(message, 'ClientKeyExchange');
      this.onClientKeyExchange(message);
    } else {
      if (message.type !== HandshakeType.Finished) throw unexpected(message, 'Finished');
      this.onFinished(message);
    }
  }

  private onClientKeyExchange(message: HandshakeMessage): void {
    const raw = decodePskField(message.body, 'ClientKeyExchange');
    let identity: string;
    try {
      identity = utf8.decode(raw);
    } catch {
      throw new DtlsError(AlertDescription.HandshakeFailure, 'PSK identity is not UTF-8');
    }
    let psk: Buffer | undefined;
    try {
      psk = this.config.psk(identity);
    } catch (err) {
      throw new DtlsError(AlertDescription.InternalError, `PSK lookup failed for identity ${JSON.stringify(identity)}`, { cause: err });
    }
    if (psk === undefined || psk.length === 0) {
      throw new DtlsError(AlertDescription.HandshakeFailure, `unknown PSK identity ${JSON.stringify(identity)}`);
    }
    this.addToTranscript(message);
    this.keys = deriveKeys(this.params!, psk, this.transcriptHash());
    this.identity = identity;
    this.setPendingRead(this.keys.clientWrite);
    this.expecting = 'finished';
  }

  private onFinished(message: HandshakeMessage): void {
    // The Finished must have come under the new epoch, i.e. after the client's ChangeCipherSpec.
    if (this.currentReadEpoch === 0) throw new DtlsError(AlertDescription.UnexpectedMessage, 'Finished before ChangeCipherSpec');
    const keys = this.keys!;
    const expected = finishedVerifyData(keys.master, 'client', this.transcriptHash());
    if (message.body.length !== expected.length || !timingSafeEqual(message.body, expected)) {
      throw new DtlsError(AlertDescription.DecryptError, 'client Finished does not verify');
    }
    this.addToTranscript(message);
    const verify = finishedVerifyData(keys.master, 'server', this.transcriptHash());
    const epoch = this.startWriteEpoch(keys.serverWrite);
    const finished = this.nextMessage(HandshakeType.Finished, verify);
    // Final flight: kept to answer a repeated client flight, never on a timer (RFC 6347 §4.2.4).
    this.sendFlight([{ kind: 'ccs', epoch: epoch - 1 }, { kind: 'handshake', message: finished, epoch }], true);
    this.finishHandshake(true);
  }

  protected override onApplicationDataReceived(): void {
    this.dropFinalFlight();
  }

  /** The negotiated cipher suite (once the ServerHello was sent). */
  get cipherSuite(): CipherSuite | undefined {
    return this.params?.suite;
  }
}

function unexpected(message: HandshakeMessage, wanted: string): DtlsError {
  return new DtlsError(AlertDescription.UnexpectedMessage, `expected ${wanted}, got handshake message type ${message.type}`);
}
