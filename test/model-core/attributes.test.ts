import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/errors.js';
import {
  checkAttributeConsistency,
  formatAttributeQuery,
  parseAttributeQuery,
} from '../../src/model/attributes.js';
import { formatExecuteArguments, parseExecuteArguments } from '../../src/model/execute-args.js';

function assertBadRequest(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof Lwm2mError && err.code === '4.00' && pattern.test(err.message));
}

describe('notification attributes', () => {
  it('formats a Write-Attributes query in a stable order, clearing with a bare key', () => {
    assert.deepEqual(formatAttributeQuery({ gt: 50.5, pmax: 60, pmin: 10, st: null }), ['pmin=10', 'pmax=60', 'gt=50.5', 'st']);
    assert.deepEqual(formatAttributeQuery({ edge: 1, con: 0, hqmax: 5, epmin: 1, epmax: 30 }), [
      'epmin=1', 'epmax=30', 'edge=1', 'con=0', 'hqmax=5',
    ]);
  });

  it('parses what it formats', () => {
    const attrs = { pmin: 10, pmax: 60, gt: 50.5, lt: -3, st: 2, epmin: null, edge: 0 as const };
    assert.deepEqual(parseAttributeQuery(formatAttributeQuery(attrs)), attrs);
  });

  it('rejects unknown names, bad numbers, fractions and out-of-range flags with 4.00', () => {
    assertBadRequest(() => parseAttributeQuery(['foo=1']), /unknown attribute "foo"/);
    assertBadRequest(() => parseAttributeQuery(['pmin=abc']), /pmin must be a number/);
    assertBadRequest(() => parseAttributeQuery(['pmin=']), /pmin must be a number/);
    assertBadRequest(() => parseAttributeQuery(['pmin=1.5']), /pmin must be an integer/);
    assertBadRequest(() => parseAttributeQuery(['edge=2']), /edge must be ≤ 1/);
    assertBadRequest(() => parseAttributeQuery(['pmax=-1']), /pmax must be ≥ 0/);
    assertBadRequest(() => parseAttributeQuery(['pmin=1', 'pmin=2']), /given twice/);
  });

  it('checks relations between attributes', () => {
    assertBadRequest(() => checkAttributeConsistency({ pmin: 10, pmax: 5 }), /pmax \(5\) must not be less than pmin/);
    assertBadRequest(() => checkAttributeConsistency({ epmin: 10, epmax: 10 }), /epmax/);
    assertBadRequest(() => checkAttributeConsistency({ gt: 10, lt: 10 }), /lt \(10\) must be less than gt/);
    assertBadRequest(() => checkAttributeConsistency({ gt: 10, lt: 0, st: 5 }), /lt \+ 2\*st/);
    checkAttributeConsistency({ gt: 10, lt: 0, st: 4.9, pmin: 5, pmax: 5 });
  });
});

describe('execute arguments', () => {
  it('parses the specification example', () => {
    assert.deepEqual(parseExecuteArguments("0='ab',1,2='x,y'"), [
      { digit: 0, value: 'ab' },
      { digit: 1 },
      { digit: 2, value: 'x,y' },
    ]);
    assert.deepEqual(parseExecuteArguments(''), []);
    assert.deepEqual(parseExecuteArguments("5=''"), [{ digit: 5, value: '' }]);
  });

  it('round-trips', () => {
    const args = [{ digit: 3, value: 'hello world' }, { digit: 7 }];
    assert.deepEqual(parseExecuteArguments(formatExecuteArguments(args)), args);
  });

  it('rejects malformed argument lists with 4.00', () => {
    assertBadRequest(() => parseExecuteArguments('a'), /expected a digit/);
    assertBadRequest(() => parseExecuteArguments('12'), /expected ","/);
    assertBadRequest(() => parseExecuteArguments("0='x"), /missing closing quote/);
    assertBadRequest(() => parseExecuteArguments('0=x'), /single quotes/);
    assertBadRequest(() => parseExecuteArguments('0,'), /trailing/);
    assertBadRequest(() => parseExecuteArguments('1,1'), /given twice/);
    assertBadRequest(() => formatExecuteArguments([{ digit: 10 }]), /0-9/);
    assertBadRequest(() => formatExecuteArguments([{ digit: 1, value: "it's" }]), /single quote/);
  });
});
