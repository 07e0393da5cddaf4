/**
 * The contract every content format implements. Codecs are pure: bytes in,
 * value tree out (and back). They throw FormatError (4.00) for malformed
 * input and UnsupportedFormatError (4.15) for content the format cannot
 * carry; nothing else escapes them.
 */
import type { ModelLookup } from '../model/definitions.js';
import type { Lwm2mPath } from '../model/path.js';
import type { PathNode } from '../model/value.js';
import type { ContentFormatNumber } from './content-format.js';

export interface DecodeContext {
  /**
   * The path the payload answers (Read /3/0 → [3, 0]) or is written to.
   * Single-path formats (text, opaque, CBOR, TLV) need it; flat formats use
   * it to group records into one node. Omitted for Send and composite
   * payloads, whose records carry full paths.
   */
  readonly path?: Lwm2mPath;
  /** Composite operations: group records under each of these paths. */
  readonly paths?: readonly Lwm2mPath[];
  /** Resource definitions in the peer's object versions, when known. */
  readonly model?: ModelLookup;
}

export interface EncodeContext {
  readonly model?: ModelLookup;
  /**
   * Base time for flat formats that support it (SenML `bt`): when set,
   * leaf times are written relative to it.
   */
  readonly baseTime?: number;
}

export interface Codec {
  readonly format: ContentFormatNumber;
  readonly name: string;
  /** True when the format can carry several paths in one payload (SenML, LwM2M CBOR). */
  readonly multiPath: boolean;
  /**
   * Encodes nodes at their paths. Single-path codecs accept exactly one
   * entry and raise UnsupportedFormatError otherwise (e.g. text for an
   * instance).
   */
  encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer;
  /** Decodes a payload into nodes at their paths. */
  decode(payload: Buffer, ctx?: DecodeContext): PathNode[];
}
