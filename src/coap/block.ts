/**
 * The Block1/Block2 option value (RFC 7959 section 2.2): block number NUM,
 * the more flag M and the size exponent SZX (block size = 2^(SZX+4), 16 to
 * 1024 bytes), packed in 0 to 3 bytes.
 */
import { CoapFormatError, CoapMessageError } from './errors.js';
import { getOption, OptionNumber, setOption } from './options.js';
import { EMPTY_BUFFER, type CoapOption } from './packet.js';

export interface BlockOption {
  /** Block number (0..2^20-1). */
  num: number;
  /** More blocks follow (M bit). */
  more: boolean;
  /** Size exponent 0..6 (7 is BERT, for CoAP over TCP only). */
  szx: number;
}

export const MAX_BLOCK_NUM = 0xfffff;
export const MAX_SZX = 6;

/** 2^(szx+4) bytes. */
export function blockSize(szx: number): number {
  return 16 << szx;
}

/** The largest SZX whose block size is at most `bytes` (clamped to 16..1024). */
export function szxForSize(bytes: number): number {
  let szx = MAX_SZX;
  while (szx > 0 && blockSize(szx) > bytes) szx--;
  return szx;
}

export function decodeBlock(value: Buffer): BlockOption {
  if (value.length > 3) throw new CoapFormatError('option', `block option of ${value.length} bytes (max 3)`);
  let n = 0;
  for (let i = 0; i < value.length; i++) n = (n << 8) | value[i]!;
  const szx = n & 7;
  if (szx === 7) throw new CoapFormatError('option', 'block size exponent 7 (BERT) is not allowed over UDP');
  return { num: n >>> 4, more: (n & 8) !== 0, szx };
}

export function encodeBlock(block: BlockOption): Buffer {
  const { num, more, szx } = block;
  if (!(Number.isInteger(num) && num >= 0 && num <= MAX_BLOCK_NUM)) throw new CoapMessageError(`block number ${num} out of range`);
  if (!(Number.isInteger(szx) && szx >= 0 && szx <= MAX_SZX)) throw new CoapMessageError(`block size exponent ${szx} out of range`);
  const n = (num << 4) | (more ? 8 : 0) | szx;
  if (n === 0) return EMPTY_BUFFER;
  const len = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
  const buf = Buffer.allocUnsafe(len);
  buf.writeUIntBE(n, 0, len);
  return buf;
}

export function getBlock1(options: readonly CoapOption[]): BlockOption | undefined {
  const v = getOption(options, OptionNumber.Block1);
  return v === undefined ? undefined : decodeBlock(v);
}

export function getBlock2(options: readonly CoapOption[]): BlockOption | undefined {
  const v = getOption(options, OptionNumber.Block2);
  return v === undefined ? undefined : decodeBlock(v);
}

export function setBlock1(options: CoapOption[], block: BlockOption | undefined): void {
  if (block === undefined) setOption(options, OptionNumber.Block1);
  else setOption(options, OptionNumber.Block1, encodeBlock(block));
}

export function setBlock2(options: CoapOption[], block: BlockOption | undefined): void {
  if (block === undefined) setOption(options, OptionNumber.Block2);
  else setOption(options, OptionNumber.Block2, encodeBlock(block));
}
