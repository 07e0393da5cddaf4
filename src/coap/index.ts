/** The CoAP message layer: what the rest of the engine imports. */
export { CoapEndpoint, type CoapEndpointOptions, type UdpEndpointOptions, type EndpointState } from './endpoint.js';
export type { CoapRequest, CoapResponse, IncomingRequest, OutgoingResponse, OutgoingNotification, RequestHandler, QueryInput } from './api.js';
export { Observation, type ObservationEnd, type ObservationEndReason, type CancelMode } from './observation.js';
export { ObserverHandle, type ObserverEndReason } from './observer.js';
export { UdpTransport, type UdpTransportOptions } from './udp-transport.js';
export { udpPeer, udpPeerKey, silentLogger, type Peer, type Transport, type TransportAddress, type Logger, type LogLevel, type DatagramHandler } from './transport.js';
export {
  parseMessage,
  encodeMessage,
  encodeEmpty,
  checkDatagram,
  methodOf,
  toRequestCode,
  isRequestCode,
  isResponseCode,
  isSuccessCode,
  MethodCode,
  type CoapMessage,
  type CoapOption,
  type CoapMethod,
  type MessageType,
} from './packet.js';
export * from './options.js';
export { decodeBlock, encodeBlock, getBlock1, getBlock2, setBlock1, setBlock2, blockSize, szxForSize, type BlockOption } from './block.js';
export { DEFAULT_PARAMETERS, resolveParameters, type TransmissionParameters, type ResolvedParameters } from './params.js';
export type { CoapStats } from './stats.js';
export { CoapFormatError, CoapMessageError, CoapTimeoutError, CoapResetError, CoapClosedError, CoapBlockError, CoapConfigError, type MalformedKind } from './errors.js';
