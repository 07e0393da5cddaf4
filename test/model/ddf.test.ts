import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../../src/errors.js';
import {
  NotAnObjectDefinitionError,
  loadDdfFile,
  loadDdfFolder,
  parseDdf,
} from '../../src/model/ddf.js';
import type { ObjectDefinition, ResourceDefinition } from '../../src/model/definitions.js';
import { ddfXml } from './ddf-fixtures.js';
import type { ItemSpec, ObjectSpec } from './ddf-fixtures.js';

const FILE = 'test-object.xml';

function parseOne(spec: ObjectSpec): ObjectDefinition {
  const defs = parseDdf(ddfXml(spec), FILE);
  assert.equal(defs.length, 1);
  return defs[0] as ObjectDefinition;
}

function parseItem(item: ItemSpec): ResourceDefinition {
  const def = parseOne({ items: [{ id: '7', name: 'Thing', ...item }] });
  const res = def.resources.get(7);
  assert.ok(res, 'resource 7 should be defined');
  return res;
}

/** Asserts a ModelError (but not a "not an object" one) whose message has every part. */
function assertBroken(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
    assert.ok(!(err instanceof NotAnObjectDefinitionError), `should be a broken DDF, not a skip: ${err.message}`);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    return true;
  });
}

function assertNotAnObject(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NotAnObjectDefinitionError, `expected NotAnObjectDefinitionError, got ${String(err)}`);
    assert.ok(err instanceof ModelError);
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" should mention "${part}"`);
    return true;
  });
}

describe('model/ddf parseDdf', () => {
  it('reads object facts and drops descriptions', () => {
    const def = parseOne({
      id: '40001',
      name: 'Pump',
      urn: 'urn:oma:lwm2m:x:40001:1.1',
      objectVersion: '1.1',
      lwm2mVersion: '1.2',
      multiple: 'Single',
      mandatory: 'Mandatory',
      items: [
        { id: '0', name: 'Speed', operations: 'RW', type: 'Float', range: '0..100', units: 'rpm' },
        { id: '3', name: 'Start', operations: 'E', type: '', multiple: 'Single', mandatory: 'Mandatory' },
      ],
    });
    assert.equal(def.id, 40001);
    assert.equal(def.name, 'Pump');
    assert.equal(def.urn, 'urn:oma:lwm2m:x:40001:1.1');
    assert.equal(def.version, '1.1');
    assert.equal(def.lwm2mVersion, '1.2');
    assert.equal(def.multiple, false);
    assert.equal(def.mandatory, true);
    assert.deepEqual([...def.resources.keys()], [0, 3]);
    assert.deepEqual(def.resources.get(0), {
      id: 0, name: 'Speed', operations: 'RW', type: 'float', multiple: false, mandatory: false,
      range: '0..100', units: 'rpm',
    });
    assert.deepEqual(def.resources.get(3), {
      id: 3, name: 'Start', operations: 'E', type: 'none', multiple: false, mandatory: true,
    });
    const everything = JSON.stringify({ ...def, resources: [...def.resources.values()] });
    assert.ok(!everything.includes('description'), 'no description kept');
    assert.ok(!everything.includes('must not be kept'), 'no description text kept');
  });

  it('defaults ObjectVersion and LWM2MVersion to 1.0 when absent or empty', () => {
    const absent = parseOne({ objectVersion: null, lwm2mVersion: null });
    assert.equal(absent.version, '1.0');
    assert.equal(absent.lwm2mVersion, '1.0');
    const empty = parseOne({ objectVersion: '', lwm2mVersion: '  ' });
    assert.equal(empty.version, '1.0');
    assert.equal(empty.lwm2mVersion, '1.0');
  });

  it('keeps an absent URN empty instead of guessing one', () => {
    assert.equal(parseOne({ urn: null }).urn, '');
    assert.equal(parseOne({ urn: '  urn:oma:lwm2m:x:40000 ' }).urn, 'urn:oma:lwm2m:x:40000');
  });

  it('maps every Type spelling, in any case and spacing', () => {
    const cases: Array<[string | null, ResourceDefinition['type']]> = [
      ['String', 'string'],
      ['string', 'string'],
      ['Integer', 'integer'],
      [' INTEGER ', 'integer'],
      ['Unsigned Integer', 'unsigned'],
      ['unsigned integer', 'unsigned'],
      ['Unsigned  Integer', 'unsigned'],
      ['UnsignedInteger', 'unsigned'],
      ['Float', 'float'],
      ['Boolean', 'boolean'],
      ['Opaque', 'opaque'],
      ['Time', 'time'],
      ['Objlnk', 'objlnk'],
      ['Objlink', 'objlnk'],
      ['Corelnk', 'corelnk'],
      ['CoreLink', 'corelnk'],
      ['', 'none'],
      ['   ', 'none'],
      [null, 'none'],
      ['none', 'none'],
    ];
    for (const [type, expected] of cases) {
      assert.equal(parseItem({ type }).type, expected, `Type ${JSON.stringify(type)}`);
    }
  });

  it('maps Operations R, W, RW, E and empty (WR and case tolerated)', () => {
    const cases: Array<[string | null, ResourceDefinition['operations']]> = [
      ['R', 'R'], ['W', 'W'], ['RW', 'RW'], ['E', 'E'], ['', ''], [null, ''],
      [' rw ', 'RW'], ['WR', 'RW'], ['r', 'R'], ['R W', 'RW'],
    ];
    for (const [operations, expected] of cases) {
      assert.equal(parseItem({ operations }).operations, expected, `Operations ${JSON.stringify(operations)}`);
    }
  });

  it('maps Single/Multiple and Mandatory/Optional in any case', () => {
    const res = parseItem({ multiple: 'multiple', mandatory: ' MANDATORY ' });
    assert.equal(res.multiple, true);
    assert.equal(res.mandatory, true);
    const single = parseItem({ multiple: 'SINGLE', mandatory: 'optional' });
    assert.equal(single.multiple, false);
    assert.equal(single.mandatory, false);
    const obj = parseOne({ multiple: 'single', mandatory: 'optional' });
    assert.equal(obj.multiple, false);
    assert.equal(obj.mandatory, false);
  });

  it('keeps range and units as trimmed text, and leaves them out when empty', () => {
    const res = parseItem({ range: '  0..100 ', units: '\n   %\n  ' });
    assert.equal(res.range, '0..100');
    assert.equal(res.units, '%');
    const empty = parseItem({ range: '   ', units: '\n    ' });
    assert.ok(!('range' in empty));
    assert.ok(!('units' in empty));
    const absent = parseItem({ range: null, units: null });
    assert.ok(!('range' in absent));
    assert.ok(!('units' in absent));
  });

  it('trims names and decodes entities, character references and CDATA', () => {
    const res = parseItem({ name: ' Temp &amp; Humidity ', range: '&#60;7 to &#x3E;12.5' });
    assert.equal(res.name, 'Temp & Humidity');
    assert.equal(res.range, '<7 to >12.5');
    const cdata = parseOne({ name: '<![CDATA[A <b> & C]]>' });
    assert.equal(cdata.name, 'A <b> & C');
  });

  it('reads several objects from one <LWM2M> root, in order', () => {
    const defs = parseDdf(ddfXml({ id: '40010', name: 'First' }, { id: '40011', name: 'Second' }), FILE);
    assert.deepEqual(defs.map((d) => [d.id, d.name]), [[40010, 'First'], [40011, 'Second']]);
  });

  it('accepts a UTF-8 byte order mark and a missing ObjectType attribute', () => {
    const defs = parseDdf('\ufeff' + ddfXml({ objectType: null }), FILE);
    assert.equal(defs[0]?.id, 40000);
  });

  it('accepts an object with an empty <Resources/>', () => {
    const xml = ddfXml({}).replace(/<Resources>[\s\S]*<\/Resources>/, '<Resources/>');
    assert.equal(parseDdf(xml, FILE)[0]?.resources.size, 0);
  });

  describe('malformed XML', () => {
    it('reports a truncated file with the file name, line and column', () => {
      const xml = ddfXml({});
      const truncated = xml.slice(0, xml.indexOf('<Resources>') + 30);
      assertBroken(() => parseDdf(truncated, FILE), `${FILE}:`, 'malformed XML at line', 'column');
    });

    it('reports mismatched tags with the line where they are', () => {
      const xml = '<?xml version="1.0"?>\n<LWM2M>\n<Object>\n<Name>x</Nme>\n</Object>\n</LWM2M>';
      assertBroken(() => parseDdf(xml, 'bad.xml'), 'bad.xml', 'line 4');
    });

    it('reports an empty file', () => {
      assertBroken(() => parseDdf('', FILE), FILE, 'empty');
      assertBroken(() => parseDdf('  \n ', FILE), FILE, 'empty');
    });

    it('reports text that is not XML at all', () => {
      assertBroken(() => parseDdf('# just some markdown', 'README.md'), 'README.md', 'malformed XML');
    });

    it('rejects a non-string argument with a ModelError', () => {
      assertBroken(() => parseDdf(undefined as unknown as string, FILE), FILE, 'string');
    });

    it('names no file when none is given, but still the problem', () => {
      assert.throws(() => parseDdf('<LWM2M>', undefined), (err: unknown) => {
        assert.ok(err instanceof ModelError);
        assert.equal(err.file, undefined);
        assert.match(err.message, /^malformed XML at line 1/);
        return true;
      });
    });
  });

  describe('well-formed XML that is not an object definition', () => {
    it('recognizes a wrong root element', () => {
      assertNotAnObject(() => parseDdf('<?xml version="1.0"?><Catalog><Book/></Catalog>', 'books.xml'),
        'books.xml', '<Catalog>', 'not <LWM2M>');
    });

    it('recognizes the registry index, schemas and the units list', () => {
      assertNotAnObject(() => parseDdf('<DDFList><Item><ObjectID>0</ObjectID></Item></DDFList>', 'DDF.xml'),
        'DDF.xml', 'registry index');
      assertNotAnObject(
        () => parseDdf('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="LWM2M"/></xs:schema>', 'LWM2M.xsd'),
        'LWM2M.xsd', 'XML schema');
      assertNotAnObject(() => parseDdf('<units><title>Units</title></units>', 'units.xml'), 'units.xml', 'units list');
    });

    it('recognizes reusable resource files (ObjectType CommonResources)', () => {
      const xml = '<LWM2M><Object ObjectType="CommonResources"><Resources><Item ID="4000"><Name>X</Name></Item></Resources></Object></LWM2M>';
      assertNotAnObject(() => parseDdf(xml, 'Common.xml'), 'Common.xml', 'CommonResources');
    });

    it('exposes the reason without the file name', () => {
      try {
        parseDdf('<DDFList/>', 'some/dir/DDF.xml');
        assert.fail('should throw');
      } catch (err) {
        assert.ok(err instanceof NotAnObjectDefinitionError);
        assert.equal(err.file, 'some/dir/DDF.xml');
        assert.ok(!err.reason.includes('some/dir'));
        assert.ok(err.message.startsWith('some/dir/DDF.xml: '));
      }
    });
  });

  describe('broken object definitions', () => {
    it('rejects an <LWM2M> root without objects', () => {
      assertBroken(() => parseDdf('<LWM2M></LWM2M>', FILE), FILE, 'no <Object>');
    });

    it('rejects a file mixing object definitions and other object types', () => {
      const xml = ddfXml({}).replace('</LWM2M>', '<Object ObjectType="CommonResources"></Object></LWM2M>');
      assertBroken(() => parseDdf(xml, FILE), FILE, 'CommonResources');
    });

    it('rejects an unknown Type, naming file, object and resource', () => {
      assertBroken(
        () => parseDdf(ddfXml({ id: '3', name: 'Device', items: [{ id: '9', name: 'Battery Level', type: 'Strng' }] }), 'dev.xml'),
        'dev.xml', 'object 3 (Device)', 'resource 9 (Battery Level)', '"Strng"', 'Type');
    });

    it('rejects unknown Operations, MultipleInstances and Mandatory values', () => {
      assertBroken(() => parseItem({ operations: 'RWE' }), FILE, 'resource 7 (Thing)', '"RWE"', 'Operations');
      assertBroken(() => parseItem({ multiple: 'Many' }), FILE, 'resource 7', '"Many"', 'MultipleInstances');
      assertBroken(() => parseItem({ mandatory: 'Yes' }), FILE, 'resource 7', '"Yes"', 'Mandatory');
      assertBroken(() => parseOne({ multiple: 'Several' }), FILE, 'object 40000 (Test Object)', '"Several"');
    });

    it('rejects missing MultipleInstances or Mandatory', () => {
      assertBroken(() => parseItem({ multiple: null }), 'resource 7', 'missing <MultipleInstances>');
      assertBroken(() => parseItem({ mandatory: null }), 'resource 7', 'missing <Mandatory>');
      assertBroken(() => parseOne({ mandatory: null }), 'object 40000', 'missing <Mandatory>');
    });

    it('rejects a missing, non-numeric or out-of-range ObjectID', () => {
      assertBroken(() => parseOne({ id: null }), FILE, 'missing <ObjectID>');
      assertBroken(() => parseOne({ id: '' }), FILE, 'missing <ObjectID>');
      assertBroken(() => parseOne({ id: 'three' }), FILE, '"three"', 'not a number');
      assertBroken(() => parseOne({ id: '-3' }), FILE, '"-3"');
      assertBroken(() => parseOne({ id: '65535' }), FILE, '65535', 'out of range');
    });

    it('rejects a missing or bad resource ID attribute, naming the object', () => {
      assertBroken(() => parseOne({ id: '3', name: 'Device', items: [{ id: null }] }), FILE, 'object 3 (Device)', 'missing resource ID');
      assertBroken(() => parseOne({ items: [{ id: 'x1' }] }), FILE, '"x1"');
      assertBroken(() => parseOne({ items: [{ id: '70000' }] }), FILE, '70000', 'out of range');
    });

    it('rejects a resource defined twice', () => {
      assertBroken(() => parseOne({ items: [{ id: '5' }, { id: '5' }] }), FILE, 'resource 5 is defined twice');
    });

    it('rejects missing names', () => {
      assertBroken(() => parseOne({ name: null }), FILE, 'object 40000', 'missing <Name>');
      assertBroken(() => parseOne({ name: '  ' }), FILE, 'missing <Name>');
      assertBroken(() => parseItem({ name: null }), FILE, 'resource 7', 'missing <Name>');
    });

    it('rejects versions that are not major.minor', () => {
      assertBroken(() => parseOne({ objectVersion: 'v1' }), FILE, 'ObjectVersion', '"v1"');
      assertBroken(() => parseOne({ lwm2mVersion: '1.1.1' }), FILE, 'LWM2MVersion', '"1.1.1"');
    });

    it('rejects <Resources> holding text instead of items', () => {
      const xml = ddfXml({}).replace(/<Resources>[\s\S]*<\/Resources>/, '<Resources>none</Resources>');
      assertBroken(() => parseDdf(xml, FILE), FILE, '<Resources> must hold <Item>');
    });

    it('rejects an element given twice or holding elements instead of text', () => {
      const twice = ddfXml({}).replace('<Type>Integer</Type>', '<Type>Integer</Type><Type>Float</Type>');
      assertBroken(() => parseDdf(twice, FILE), FILE, '<Type> appears 2 times');
      const nested = ddfXml({}).replace('<Type>Integer</Type>', '<Type><b>Integer</b></Type>');
      assertBroken(() => parseDdf(nested, FILE), FILE, '<Type> must hold text');
    });
  });
});

describe('model/ddf files and folders', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lwm2m-ddf-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loadDdfFile reads a file and names it in errors', async () => {
    const good = path.join(dir, 'good.xml');
    await writeFile(good, ddfXml({ id: '40100' }));
    const defs = await loadDdfFile(good);
    assert.equal(defs[0]?.id, 40100);

    const bad = path.join(dir, 'bad.xml');
    await writeFile(bad, ddfXml({ items: [{ type: 'Decimal' }] }));
    await assert.rejects(loadDdfFile(bad), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.equal(err.file, bad);
      assert.ok(err.message.startsWith(`${bad}: `));
      assert.ok(err.message.includes('"Decimal"'));
      return true;
    });
  });

  it('loadDdfFile reports a missing file as a ModelError', async () => {
    const missing = path.join(dir, 'nope.xml');
    await assert.rejects(loadDdfFile(missing), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.ok(err.message.includes(missing) && err.message.includes('cannot read file'));
      return true;
    });
  });

  it('loadDdfFolder loads object files in name order and lists every other entry as skipped', async () => {
    await writeFile(path.join(dir, 'b.xml'), ddfXml({ id: '40201' }, { id: '40202' }));
    await writeFile(path.join(dir, 'a.xml'), ddfXml({ id: '40200' }));
    await writeFile(path.join(dir, 'index.xml'), '<DDFList><Item/></DDFList>');
    await writeFile(path.join(dir, 'schema.xsd'), '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>');
    await writeFile(path.join(dir, 'notes.txt'), 'not xml');
    await mkdir(path.join(dir, 'old'));
    await writeFile(path.join(dir, 'old', 'c.xml'), ddfXml({ id: '40300' }));

    const { definitions, skipped } = await loadDdfFolder(dir);
    assert.deepEqual(definitions.map((d) => d.id), [40200, 40201, 40202]);
    const reasons = new Map(skipped.map((s) => [path.basename(s.file), s.reason]));
    assert.deepEqual([...reasons.keys()].sort(), ['index.xml', 'notes.txt', 'old', 'schema.xsd']);
    assert.match(reasons.get('index.xml') ?? '', /registry index/);
    assert.match(reasons.get('schema.xsd') ?? '', /XML schema/);
    assert.match(reasons.get('notes.txt') ?? '', /not an \.xml file/);
    assert.match(reasons.get('old') ?? '', /folder/);
    for (const s of skipped) assert.equal(path.dirname(s.file), dir);
  });

  it('loadDdfFolder fails on a broken object file, naming it', async () => {
    await writeFile(path.join(dir, 'a.xml'), ddfXml({ id: '40200' }));
    const broken = path.join(dir, 'broken.xml');
    await writeFile(broken, ddfXml({ id: null }));
    await assert.rejects(loadDdfFolder(dir), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.equal(err.file, broken);
      assert.ok(err.message.includes('missing <ObjectID>'));
      return true;
    });
  });

  it('loadDdfFolder names every broken file at once', async () => {
    await writeFile(path.join(dir, 'one.xml'), ddfXml({ items: [{ type: 'Decimal' }] }));
    await writeFile(path.join(dir, 'two.xml'), '<LWM2M><Object>');
    await assert.rejects(loadDdfFolder(dir), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.ok(err.message.includes('2 DDF files could not be loaded'));
      assert.ok(err.message.includes(path.join(dir, 'one.xml')) && err.message.includes('"Decimal"'));
      assert.ok(err.message.includes(path.join(dir, 'two.xml')) && err.message.includes('malformed XML'));
      return true;
    });
  });

  it('loadDdfFolder reports a missing folder as a ModelError', async () => {
    const missing = path.join(dir, 'absent');
    await assert.rejects(loadDdfFolder(missing), (err: unknown) => {
      assert.ok(err instanceof ModelError);
      assert.ok(err.message.includes(missing) && err.message.includes('cannot read folder'));
      return true;
    });
  });
});
