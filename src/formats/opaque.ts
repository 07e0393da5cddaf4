/**
 * application/octet-stream (content format 42): the raw bytes of one Opaque
 * resource or resource instance (a firmware image pushed to /5/0/0, a
 * certificate in /0/x/3). No other type can be carried: the bytes would not
 * say how to read them back.
 */
import { UnsupportedFormatError } from '../errors.js';
import { formatPath } from '../model/path.js';
import type { PathNode } from '../model/value.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import { ContentFormat } from './content-format.js';
import { checkSingleValueShape, leafResult, resourceDefinition, singleLeafEntry, singleLeafPath } from './single-value.js';

const NAME = 'application/octet-stream';

export const opaqueCodec: Codec = {
  format: ContentFormat.OPAQUE,
  name: NAME,
  multiPath: false,

  encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer {
    const { path, node } = singleLeafEntry(entries, NAME);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    if (def && def.type !== 'opaque') {
      throw new UnsupportedFormatError(`${NAME} carries Opaque values only; ${formatPath(path)} is ${def.type}`);
    }
    if (node.value.type !== 'opaque') {
      throw new UnsupportedFormatError(`${NAME} carries Opaque values only, got a ${node.value.type} value`);
    }
    return Buffer.from(node.value.value);
  },

  decode(payload: Buffer, ctx?: DecodeContext): PathNode[] {
    const path = singleLeafPath(ctx?.path, NAME);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    if (def && def.type !== 'opaque') {
      throw new UnsupportedFormatError(`${NAME} carries Opaque values only; ${formatPath(path)} is ${def.type}`);
    }
    // a copy: the payload buffer may be a view into a reused receive buffer
    return leafResult(path, { type: 'opaque', value: Buffer.from(payload) });
  },
};
