/**
 * Execute arguments (LwM2M Core TS §5.4.5): `0='v1',1,2='x'`.
 * Each argument is one digit (0-9) with an optional single-quoted value.
 * The value may hold any character but the single quote.
 */
import { CoapCode, Lwm2mError } from '../errors.js';

export interface ExecuteArgument {
  readonly digit: number;
  readonly value?: string;
}

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

export function formatExecuteArguments(args: readonly ExecuteArgument[]): string {
  const seen = new Set<number>();
  return args
    .map(({ digit, value }) => {
      if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw bad(`execute argument number must be 0-9, got ${digit}`);
      if (seen.has(digit)) throw bad(`execute argument ${digit} given twice`);
      seen.add(digit);
      if (value === undefined) return String(digit);
      if (value.includes("'")) throw bad(`execute argument ${digit}: value must not contain a single quote`);
      return `${digit}='${value}'`;
    })
    .join(',');
}

export function parseExecuteArguments(text: string): ExecuteArgument[] {
  const args: ExecuteArgument[] = [];
  const seen = new Set<number>();
  let i = 0;
  if (text.length === 0) return args;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch < 0x30 || ch > 0x39) throw bad(`execute arguments: expected a digit at position ${i} of "${text}"`);
    const digit = ch - 0x30;
    if (seen.has(digit)) throw bad(`execute argument ${digit} given twice`);
    seen.add(digit);
    i++;
    let value: string | undefined;
    if (text[i] === '=') {
      if (text[i + 1] !== "'") throw bad(`execute argument ${digit}: value must be in single quotes`);
      const end = text.indexOf("'", i + 2);
      if (end < 0) throw bad(`execute argument ${digit}: missing closing quote`);
      value = text.slice(i + 2, end);
      i = end + 1;
    }
    args.push(value === undefined ? { digit } : { digit, value });
    if (i === text.length) break;
    if (text[i] !== ',') throw bad(`execute arguments: expected "," at position ${i} of "${text}"`);
    i++;
    if (i === text.length) throw bad('execute arguments: trailing ","');
  }
  return args;
}
