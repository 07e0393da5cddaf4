/**
 * A strict JSON reader for the JSON content formats (SenML JSON, old LwM2M
 * JSON) and the matching number writer.
 *
 * JSON.parse cannot be used directly: it turns 9223372036854775807 into
 * 9223372036854775808 without a word, and LwM2M integers are 64-bit. This
 * reader keeps each number's text (JsonNumber) so the caller decides
 * between number and BigInt. It also reports duplicate object keys (a
 * record with two "v" is ambiguous) and bounds nesting, and every failure
 * is a FormatError.
 */
import { FormatError } from '../errors.js';

/** A JSON number, kept as written. */
export class JsonNumber {
  constructor(readonly text: string) {}

  /** True when written without fraction or exponent ("42", "-7"). */
  get isIntegerLiteral(): boolean {
    return /^-?\d+$/.test(this.text);
  }

  /**
   * The value: integer literals beyond 2^53 become BigInt (exact), every
   * other number is a double.
   */
  get value(): number | bigint {
    if (this.isIntegerLiteral) {
      const n = Number(this.text);
      return Number.isSafeInteger(n) ? n : BigInt(this.text);
    }
    return Number(this.text);
  }
}

/** JSON objects are Maps: no prototype keys ("__proto__"), insertion order kept. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

const MAX_DEPTH = 32;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new FormatError(`invalid JSON at offset ${this.pos}: ${message}`);
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  parseDocument(): JsonValue {
    const value = this.parseValue(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('unexpected data after the JSON value');
    return value;
  }

  private parseValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.skipSpace();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(depth);
      case '[':
        return this.parseArray(depth);
      case '"':
        return this.parseString();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        return this.fail('unexpected end of data');
      default:
        return this.parseNumber();
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected token`);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): JsonNumber {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('unexpected token');
    this.pos += m[0].length;
    return new JsonNumber(m[0]);
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        const e = this.text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail('invalid \\u escape');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('invalid escape');
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.pos++; // closing quote
    // the token is now known to be a valid JSON string: let the engine unescape it
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  private parseArray(depth: number): JsonValue[] {
    this.pos++;
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.parseValue(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ']') return items;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  private parseObject(depth: number): Map<string, JsonValue> {
    this.pos++;
    const members = new Map<string, JsonValue>();
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return members;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const key = this.parseString();
      if (members.has(key)) this.fail(`duplicate member "${key}"`);
      this.skipSpace();
      if (this.text[this.pos++] !== ':') this.fail('expected ":"');
      members.set(key, this.parseValue(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return members;
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }
}

/** Parses a UTF-8 JSON payload. Throws FormatError for anything invalid. */
export function parseJson(payload: Buffer): JsonValue {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new FormatError('invalid JSON: payload is not valid UTF-8');
  }
  return new Parser(text).parseDocument();
}

/**
 * Writes a number as a JSON literal: integers exactly (BigInt included),
 * floats in the shortest form that reads back to the same double.
 * Non-finite floats have no JSON form: the caller must refuse them first.
 */
export function jsonNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new FormatError(`${value} cannot be written in JSON`);
  return Object.is(value, -0) ? '0' : String(value);
}
