/**
 * The content formats, by CoAP Content-Format number. Everything outside
 * src/formats/ reaches the codecs through here.
 */
import { UnsupportedFormatError } from '../errors.js';
import type { Codec } from './codec.js';
import { cborCodec } from './cbor.js';
import { ContentFormat, contentFormatName, LEGACY_CONTENT_FORMAT } from './content-format.js';
import { lwm2mCborCodec } from './lwm2m-cbor.js';
import { oldJsonCodec } from './old-json.js';
import { opaqueCodec } from './opaque.js';
import { senmlCborCodec } from './senml-cbor.js';
import { senmlJsonCodec } from './senml-json.js';
import { textCodec } from './text.js';
import { tlvCodec } from './tlv.js';

export type { Codec, DecodeContext, EncodeContext } from './codec.js';
export { ContentFormat, contentFormatName, parseContentFormat, type ContentFormatNumber } from './content-format.js';
export { parseLinkFormat, formatLinkFormat, makeLink, linkPath, linkAttributes, type Link } from './link-format.js';
export { encodeSenmlPaths, decodeSenmlPaths } from './senml-composite.js';

const CODECS: ReadonlyMap<number, Codec> = new Map<number, Codec>([
  [ContentFormat.TEXT, textCodec],
  [ContentFormat.OPAQUE, opaqueCodec],
  [ContentFormat.CBOR, cborCodec],
  [ContentFormat.SENML_JSON, senmlJsonCodec],
  [ContentFormat.SENML_CBOR, senmlCborCodec],
  [ContentFormat.TLV, tlvCodec],
  [ContentFormat.OLD_JSON, oldJsonCodec],
  [ContentFormat.LWM2M_CBOR, lwm2mCborCodec],
]);

/** Content formats that carry values (link-format is handled on its own). */
export const VALUE_FORMATS: readonly number[] = [...CODECS.keys()];

/** The codec of a content format; UnsupportedFormatError (4.15) when there is none. */
export function codecFor(format: number): Codec {
  const codec = CODECS.get(LEGACY_CONTENT_FORMAT[format] ?? format);
  if (!codec) throw new UnsupportedFormatError(`content format ${contentFormatName(format)} is not supported`);
  return codec;
}

export function isValueFormat(format: number): boolean {
  return CODECS.has(LEGACY_CONTENT_FORMAT[format] ?? format);
}
