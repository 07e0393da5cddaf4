/**
 * The engine's public API, usable without Node-RED.
 */
export { CoapCode, Lwm2mError, FormatError, UnsupportedFormatError, PathError, ModelError } from './errors.js';

// object model
export { parsePath, formatPath, makePath, type Lwm2mPath } from './model/path.js';
export type { ObjectDefinition, ResourceDefinition, ResourceType, ModelLookup } from './model/definitions.js';
export { ObjectRegistry, builtinRegistry } from './model/registry.js';
export { loadDdfFile, loadDdfFolder, parseDdf } from './model/ddf.js';
export * from './model/value.js';
export { toPlain, fromPlain, type PlainTree, type PlainValue } from './model/plain.js';
export type { NotificationAttributes } from './model/attributes.js';
export type { ExecuteArgument } from './model/execute-args.js';

// content formats
export { codecFor, ContentFormat, contentFormatName, parseContentFormat, parseLinkFormat, formatLinkFormat } from './formats/index.js';
export type { Codec } from './formats/index.js';

// CoAP
export { CoapEndpoint } from './coap/endpoint.js';

// server
export {
  Lwm2mServer,
  type Lwm2mServerOptions,
  type Lwm2mServerEvents,
  type RequestOptions,
  type ReadResult,
  type CompositeReadResult,
  type ObservationInfo,
  type NotificationEvent,
  type SendEvent,
  type RegistrationAuthorizer,
} from './server/lwm2m-server.js';
export type { Registration, PeerInfo, SupportedObject } from './server/registration.js';
export type { RegistrationStore, ObservationRecord } from './server/registration-store.js';
export { MemoryRegistrationStore } from './server/memory-store.js';
export { FileRegistrationStore } from './server/file-store.js';

// firmware updates (server side)
export * from './server/firmware.js';

// client
export * from './client/index.js';

// bootstrap server
export {
  Lwm2mBootstrapServer,
  type BootstrapServerOptions,
  type BootstrapServerEvents,
  type BootstrapFinished,
  type BootstrapFailed,
  type BootstrapSessionInfo,
} from './bootstrap/bootstrap-server.js';
export { BootstrapConfigStore } from './bootstrap/config-store.js';
export type { BootstrapConfig } from './bootstrap/config.js';

// DTLS 1.2 transports (PSK), for CoapEndpoint({ transport })
export * from './dtls/index.js';
