import assert from 'node:assert/strict';
import {
  findRootPath,
  formatLinkFormat,
  linkAttributes,
  linkContentFormats,
  linkIntegerParam,
  linkNumberParam,
  linkPath,
  linkResourceTypes,
  linkVersion,
  makeLink,
  parseLinkFormat,
  type Link,
} from '../../src/formats/link-format.js';
import { assertFormatError, assertOnlyCodecErrors, prng } from './helpers.js';

/** Links as plain objects, for readable deep comparisons. */
function plain(links: Link[]): { uri: string; params: Record<string, string | true> }[] {
  return links.map((l) => ({ uri: l.uri, params: Object.fromEntries(l.params) }));
}

describe('link-format (RFC 6690)', () => {
  describe('parsing', () => {
    it('parses a registration body with the root link and a preferred content format', () => {
      const links = parseLinkFormat('</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>');
      assert.deepEqual(plain(links), [
        { uri: '/', params: { rt: 'oma.lwm2m', ct: '11543' } },
        { uri: '/1/0', params: {} },
        { uri: '/3/0', params: {} },
      ]);
      assert.equal(findRootPath(links), '/');
      assert.deepEqual(links.map((l) => linkPath(l)), [[], [1, 0], [3, 0]]);
      assert.deepEqual(linkContentFormats(links[0] as Link), [11543]);
    });

    it('parses a body with an alternate root path, a content-format list and object versions', () => {
      const body =
        '</lwm2m>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</lwm2m/1>;ver=1.1,</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/3303/0>,</lwm2m/3303/1>';
      const links = parseLinkFormat(Buffer.from(body));
      assert.equal(links.length, 6);
      const root = findRootPath(links);
      assert.equal(root, '/lwm2m');
      assert.deepEqual(links.map((l) => linkPath(l, root)), [[], [1], [1, 0], [3, 0], [3303, 0], [3303, 1]]);
      // without the root those targets are not LwM2M paths
      assert.equal(linkPath(links[1] as Link), undefined);
      assert.deepEqual(linkContentFormats(links[0] as Link), [60, 110, 112, 11542, 11543]);
      assert.equal(linkVersion(links[1] as Link), '1.1');
      assert.deepEqual(linkResourceTypes(links[0] as Link), ['oma.lwm2m']);
    });

    it('parses a Discover answer with attributes', () => {
      const links = parseLinkFormat('</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=8,</3/0/9>;gt=50');
      assert.deepEqual(plain(links), [
        { uri: '/3/0', params: { pmin: '10', pmax: '60' } },
        { uri: '/3/0/1', params: {} },
        { uri: '/3/0/7', params: { dim: '8' } },
        { uri: '/3/0/9', params: { gt: '50' } },
      ]);
      assert.deepEqual(linkAttributes(links[0] as Link), { pmin: 10, pmax: 60 });
      assert.deepEqual(linkAttributes(links[2] as Link), { dim: 8 });
      assert.deepEqual(linkAttributes(links[3] as Link), { gt: 50 });
    });

    it('reads every LwM2M attribute', () => {
      const [link] = parseLinkFormat(
        '</3303/0/5700>;pmin=1;pmax=30;gt=25.5;lt=-10;st=0.5;epmin=2;epmax=40;edge=1;con=0;hqmax=5;dim=2;ver=1.2;ct=60;rt="a b"',
      );
      assert.deepEqual(linkAttributes(link as Link), {
        ver: '1.2',
        ct: [60],
        rt: ['a', 'b'],
        dim: 2,
        pmin: 1,
        pmax: 30,
        gt: 25.5,
        lt: -10,
        st: 0.5,
        epmin: 2,
        epmax: 40,
        edge: 1,
        con: 0,
        hqmax: 5,
      });
    });

    it('keeps commas, semicolons and escaped quotes inside quoted values', () => {
      const links = parseLinkFormat('</a>;title="x, y; \\"z\\"";rt="t1 t2",</b>');
      assert.deepEqual(plain(links), [
        { uri: '/a', params: { title: 'x, y; "z"', rt: 't1 t2' } },
        { uri: '/b', params: {} },
      ]);
    });

    it('gives valueless parameters the value true and lowercases names', () => {
      const links = parseLinkFormat('</1/0>;obs;Ct=0;rt');
      assert.deepEqual(plain(links), [{ uri: '/1/0', params: { obs: true, ct: '0', rt: true } }]);
    });

    it('keeps the first of repeated parameters', () => {
      const [link] = parseLinkFormat('</x>;rt=a;rt=b');
      assert.equal(link?.params.get('rt'), 'a');
    });

    it('tolerates whitespace between tokens, line breaks and a trailing comma', () => {
      const links = parseLinkFormat('  </1/0> ; ver = 1.1 ,\n\t</3/0>;rt = "x" ,  ');
      assert.deepEqual(plain(links), [
        { uri: '/1/0', params: { ver: '1.1' } },
        { uri: '/3/0', params: { rt: 'x' } },
      ]);
    });

    it('accepts an empty document and unquoted values with link characters', () => {
      assert.deepEqual(parseLinkFormat(''), []);
      assert.deepEqual(parseLinkFormat('   '), []);
      const [link] = parseLinkFormat('</x>;anchor=coap://h/a?b=c');
      assert.equal(link?.params.get('anchor'), 'coap://h/a?b=c');
    });

    describe('rejects malformed documents with FormatError', () => {
      const bad: [string, string][] = [
        ['missing "<"', '/1/0>'],
        ['unterminated target', '</1/0'],
        ['text after a link', '</1/0> x'],
        ['missing comma', '</1/0></3/0>'],
        ['empty parameter name', '</1/0>;=1'],
        ['empty value', '</1/0>;pmin='],
        ['unterminated quote', '</1/0>;rt="oma'],
        ['escape at end', '</1/0>;rt="oma\\'],
        ['quote inside a bare value', '</1/0>;rt=a"b'],
        ['double comma', '</1/0>,,</3/0>'],
        ['space inside a target', '</1 /0>'],
        ['lone semicolon at the end', '</1/0>;'],
      ];
      for (const [name, text] of bad) {
        it(name, () => assertFormatError(() => parseLinkFormat(text), /link-format/));
      }
      it('invalid UTF-8 bytes', () => assertFormatError(() => parseLinkFormat(Buffer.from([0x3c, 0xff, 0x3e]))));
    });
  });

  describe('formatting', () => {
    it('writes what clients send, quoting rt and values that need it', () => {
      const links = [
        makeLink('/', { rt: 'oma.lwm2m', ct: 11543 }),
        makeLink('/1', { ver: '1.1' }),
        makeLink('/1/0'),
        makeLink('/lwm2m', { ct: '60 110', title: 'a "b"', obs: true }),
      ];
      assert.equal(
        formatLinkFormat(links),
        '</>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>,</lwm2m>;ct="60 110";title="a \\"b\\"";obs',
      );
    });

    it('round trips through the parser', () => {
      const text = '</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=8,</3/0/9>;gt=50;rt="x y";t="a,b;c"';
      assert.equal(formatLinkFormat(parseLinkFormat(text)), text);
      const odd = [makeLink('/a', { v: 'comma, semi; quote" back\\' })];
      assert.deepEqual(plain(parseLinkFormat(formatLinkFormat(odd))), plain(odd));
    });

    it('refuses targets and names it cannot write', () => {
      assertFormatError(() => formatLinkFormat([makeLink('/a>b')]), /target/);
      assertFormatError(() => formatLinkFormat([makeLink('/a', { 'a b': '1' })]), /parameter name/);
    });
  });

  describe('LwM2M helpers', () => {
    it('maps targets to paths, or undefined when they are not LwM2M paths', () => {
      assert.deepEqual(linkPath('/3/0/9/1'), [3, 0, 9, 1]);
      assert.deepEqual(linkPath('/3/0/'), [3, 0]);
      assert.deepEqual(linkPath('/lwm2m/3', '/lwm2m/'), [3]);
      assert.equal(linkPath('/lwm2mx/3', '/lwm2m'), undefined);
      assert.equal(linkPath('/3/x'), undefined);
      assert.equal(linkPath('/3/0/9/1/2'), undefined);
      assert.equal(linkPath('/65535'), undefined);
      assert.equal(linkPath('3/0'), undefined);
      assert.equal(linkPath('/.well-known/core'), undefined);
    });

    it('finds no alternate root when there is no oma.lwm2m link', () => {
      assert.equal(findRootPath(parseLinkFormat('</1/0>,</3/0>')), '/');
      assert.equal(findRootPath(parseLinkFormat('</a/b/>;rt="x oma.lwm2m"')), '/a/b');
    });

    it('returns undefined for absent attributes and rejects malformed ones', () => {
      const [link] = parseLinkFormat('</3/0>;pmin=abc;gt=1e3;st=x;ver=1;ct="60 x";edge=2;dim=-1;pmax');
      const l = link as Link;
      assert.equal(linkIntegerParam(l, 'hqmax'), undefined);
      assert.equal(linkNumberParam(l, 'gt'), 1000);
      assertFormatError(() => linkIntegerParam(l, 'pmin'), /not a non-negative integer/);
      assertFormatError(() => linkNumberParam(l, 'st'), /not a number/);
      assertFormatError(() => linkVersion(l), /not a version/);
      assertFormatError(() => linkContentFormats(l), /content formats/);
      assertFormatError(() => linkIntegerParam(l, 'dim'), /non-negative/);
      assertFormatError(() => linkIntegerParam(l, 'pmax'), /no value/);
      assertFormatError(() => linkAttributes(l));
      assertFormatError(() => linkAttributes(parseLinkFormat('</1>;edge=2')[0] as Link), /0 or 1/);
    });
  });

  it('throws nothing but FormatError on random link-like text (bounded fuzz)', () => {
    const rand = prng(0x11f);
    const alphabet = '<>/;,="\\ 0123456789abrtpminax.\t\n';
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 30);
      let text = '';
      for (let k = 0; k < len; k++) text += alphabet[Math.floor(rand() * alphabet.length)];
      assertOnlyCodecErrors(() => {
        const links = parseLinkFormat(text);
        for (const l of links) {
          linkPath(l);
          linkAttributes(l);
        }
        // whatever parses must survive formatting and re-parsing unchanged
        assert.deepEqual(plain(parseLinkFormat(formatLinkFormat(links))), plain(links));
      }, () => JSON.stringify(text));
    }
  });
});
