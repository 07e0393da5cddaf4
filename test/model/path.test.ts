import assert from 'node:assert/strict';
import { CoapCode, PathError } from '../../src/errors.js';
import {
  MAX_ID,
  ROOT_PATH,
  childPath,
  comparePaths,
  formatPath,
  isValidId,
  makePath,
  parsePath,
  pathLevel,
  pathStartsWith,
  pathsEqual,
} from '../../src/model/path.js';

/** Asserts that `fn` throws a PathError (4.00) whose message contains every `parts`. */
function assertPathError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PathError, `expected PathError, got ${String(err)}`);
    assert.equal(err.code, CoapCode.BadRequest);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    return true;
  });
}

describe('model/path', () => {
  describe('parsePath', () => {
    it('parses every level from the root to a resource instance', () => {
      assert.deepEqual(parsePath('/'), []);
      assert.deepEqual(parsePath('/3'), [3]);
      assert.deepEqual(parsePath('/3/0'), [3, 0]);
      assert.deepEqual(parsePath('/3/0/9'), [3, 0, 9]);
      assert.deepEqual(parsePath('/3/0/6/1'), [3, 0, 6, 1]);
    });

    it('treats the empty string as the root', () => {
      assert.deepEqual(parsePath(''), []);
      assert.deepEqual(parsePath('   '), []);
    });

    it('accepts the largest usable id 65534 and 0 at every level', () => {
      assert.deepEqual(parsePath('/65534/65534/65534/65534'), [65534, 65534, 65534, 65534]);
      assert.deepEqual(parsePath('/0/0/0/0'), [0, 0, 0, 0]);
      assert.equal(MAX_ID, 65534);
    });

    it('rejects the reserved id 65535 at every level, naming it', () => {
      assertPathError(() => parsePath('/65535'), '65535');
      assertPathError(() => parsePath('/3/65535'), '65535');
      assertPathError(() => parsePath('/3/0/65535'), '65535');
      assertPathError(() => parsePath('/3/0/6/65535'), '65535');
      assertPathError(() => parsePath('/99999'), '99999');
    });

    it('rejects ids with more than five digits', () => {
      assertPathError(() => parsePath('/100000'), '100000');
      assertPathError(() => parsePath('/000003'), '000003');
    });

    it('reads leading zeros as decimal (no octal)', () => {
      assert.deepEqual(parsePath('/03/010'), [3, 10]);
    });

    it('makes the leading slash optional and tolerates one trailing slash', () => {
      assert.deepEqual(parsePath('3/0/9'), [3, 0, 9]);
      assert.deepEqual(parsePath('/3/0/'), [3, 0]);
      assert.deepEqual(parsePath('3/'), [3]);
    });

    it('trims surrounding whitespace', () => {
      assert.deepEqual(parsePath(' /3/0 '), [3, 0]);
      assert.deepEqual(parsePath('\t/3/0/9\n'), [3, 0, 9]);
    });

    it('rejects empty segments (double slashes)', () => {
      assertPathError(() => parsePath('//3'), 'segment ""');
      assertPathError(() => parsePath('/3//0'), 'segment ""');
      assertPathError(() => parsePath('/3/0//'), 'segment ""');
    });

    it('rejects non-numeric segments, naming the bad one', () => {
      assertPathError(() => parsePath('/3/x/9'), '"x"', '/3/x/9');
      assertPathError(() => parsePath('/abc'), '"abc"');
      assertPathError(() => parsePath('/3/0/9a'), '"9a"');
    });

    it('rejects signs, exponents, decimals, hex and inner spaces', () => {
      assertPathError(() => parsePath('/-1'), '"-1"');
      assertPathError(() => parsePath('/3/-0'), '"-0"');
      assertPathError(() => parsePath('/+3'), '"+3"');
      assertPathError(() => parsePath('/1e3'), '"1e3"');
      assertPathError(() => parsePath('/3/0.5'), '"0.5"');
      assertPathError(() => parsePath('/0x10'), '"0x10"');
      assertPathError(() => parsePath('/3/ 0'), '" 0"');
      assertPathError(() => parsePath('/3 /0'), '"3 "');
    });

    it('rejects non-ASCII digits', () => {
      assertPathError(() => parsePath('/\uff13'), 'not a number');
      assertPathError(() => parsePath('/\u0663'), 'not a number');
    });

    it('rejects more than four segments', () => {
      assertPathError(() => parsePath('/3/0/6/1/2'), 'at most 4 segments');
      assertPathError(() => parsePath('1/2/3/4/5/6'), 'at most 4 segments');
    });

    it('rejects something that is not a string with a PathError, not a TypeError', () => {
      assertPathError(() => parsePath(3 as unknown as string), 'string');
      assertPathError(() => parsePath(undefined as unknown as string), 'string');
      assertPathError(() => parsePath(null as unknown as string), 'string');
    });

    it('returns frozen paths', () => {
      assert.ok(Object.isFrozen(parsePath('/3/0/9')));
      assert.ok(Object.isFrozen(parsePath('/')));
      assert.ok(Object.isFrozen(ROOT_PATH));
    });
  });

  describe('formatPath', () => {
    it('formats every level', () => {
      assert.equal(formatPath([]), '/');
      assert.equal(formatPath([3]), '/3');
      assert.equal(formatPath([3, 0]), '/3/0');
      assert.equal(formatPath([3, 0, 9]), '/3/0/9');
      assert.equal(formatPath([3, 0, 6, 1]), '/3/0/6/1');
    });

    it('round-trips with parsePath', () => {
      for (const text of ['/', '/0', '/3/0', '/3/0/9', '/65534/1/2/3', '/10241/0/5']) {
        assert.equal(formatPath(parsePath(text)), text);
      }
      assert.equal(formatPath(parsePath(' 3/0/ ')), '/3/0');
    });
  });

  describe('makePath and childPath', () => {
    it('builds validated, frozen paths', () => {
      const p = makePath(3, 0, 9);
      assert.deepEqual(p, [3, 0, 9]);
      assert.ok(Object.isFrozen(p));
      assert.deepEqual(makePath(), []);
    });

    it('does not alias its arguments', () => {
      const ids = [3, 0];
      const p = makePath(...ids);
      ids[0] = 4;
      assert.deepEqual(p, [3, 0]);
    });

    it('rejects ids out of range or not integers', () => {
      assertPathError(() => makePath(65535), '65535');
      assertPathError(() => makePath(-1), '-1');
      assertPathError(() => makePath(1.5), '1.5');
      assertPathError(() => makePath(Number.NaN), 'NaN');
      assertPathError(() => makePath(3, Infinity), 'Infinity');
      assertPathError(() => makePath('3' as unknown as number), 'invalid id');
    });

    it('rejects more than four ids', () => {
      assertPathError(() => makePath(1, 2, 3, 4, 5), '5 segments');
      assertPathError(() => childPath([3, 0, 6, 1], 2), '5 segments');
    });

    it('appends to a path', () => {
      assert.deepEqual(childPath([3, 0], 9), [3, 0, 9]);
      assert.deepEqual(childPath([], 3, 0), [3, 0]);
      assertPathError(() => childPath([3], 65535), '65535');
    });
  });

  describe('isValidId', () => {
    it('accepts integers 0..65534 only', () => {
      assert.equal(isValidId(0), true);
      assert.equal(isValidId(65534), true);
      assert.equal(isValidId(65535), false);
      assert.equal(isValidId(-1), false);
      assert.equal(isValidId(2.5), false);
      assert.equal(isValidId('3'), false);
      assert.equal(isValidId(Number.NaN), false);
      assert.equal(isValidId(undefined), false);
    });
  });

  describe('pathLevel', () => {
    it('names the level of each path length', () => {
      assert.equal(pathLevel([]), 'root');
      assert.equal(pathLevel([3]), 'object');
      assert.equal(pathLevel([3, 0]), 'instance');
      assert.equal(pathLevel([3, 0, 9]), 'resource');
      assert.equal(pathLevel([3, 0, 6, 1]), 'resourceInstance');
    });

    it('rejects a path that is too long', () => {
      assertPathError(() => pathLevel([1, 2, 3, 4, 5]), '5 segments');
    });
  });

  describe('comparisons', () => {
    it('pathsEqual compares ids and length', () => {
      assert.equal(pathsEqual([3, 0, 9], parsePath('/3/0/9')), true);
      assert.equal(pathsEqual([3, 0], [3, 0, 9]), false);
      assert.equal(pathsEqual([3, 0, 9], [3, 0, 8]), false);
      assert.equal(pathsEqual([], []), true);
    });

    it('pathStartsWith matches the path itself and its ancestors only', () => {
      assert.equal(pathStartsWith([3, 0, 9], [3, 0]), true);
      assert.equal(pathStartsWith([3, 0, 9], [3, 0, 9]), true);
      assert.equal(pathStartsWith([3, 0, 9], []), true);
      assert.equal(pathStartsWith([3, 0], [3, 0, 9]), false);
      assert.equal(pathStartsWith([3, 1, 9], [3, 0]), false);
      assert.equal(pathStartsWith([33, 0], [3]), false);
    });

    it('comparePaths orders by object, instance, resource, then depth', () => {
      const texts = ['/3/0/9', '/1', '/3/0', '/3/0/10', '/3/0/9/1', '/', '/3/1', '/10/0', '/3/0/9/0'];
      const sorted = texts.map(parsePath).sort(comparePaths).map(formatPath);
      assert.deepEqual(sorted, ['/', '/1', '/3/0', '/3/0/9', '/3/0/9/0', '/3/0/9/1', '/3/0/10', '/3/1', '/10/0']);
      assert.equal(comparePaths([3, 0], [3, 0]), 0);
    });
  });
});
