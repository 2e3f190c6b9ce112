/**
 * CridTextFinder on hand-encoded datasets: top-level and nested text, sequences and items of
 * defined and undefined length, implicit VR (unknown sequences as UN), big endian, UN holding
 * a sequence, encapsulated pixel data (fragments are not text), chunk-split invariance and the
 * bounds (depth, kept bytes, hit count). The byte encoders are the test's own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CridTextFinder, containsCridText, type CridTextHit } from '../../../../src/bridge/inspect/crid-text-finder.js';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { encodeElement } from '../../../support/dicom-builder.js';

const UNDEFINED = 0xffffffff;
const ID = 'CRID#1234567890123456';

/** Explicit VR little endian text element. */
const text = (group: number, element: number, vr: string, value: string) => encodeElement({ group, element, vr, value });

function u16(n: number, le = true): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(n);
  else b.writeUInt16BE(n);
  return b;
}

function u32(n: number, le = true): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

/** An item (FFFE,E000) around `content`, of defined or undefined length (PS3.5 §7.5). */
function item(content: Buffer, undefinedLength = false, le = true): Buffer {
  if (!undefinedLength) return Buffer.concat([u16(0xfffe, le), u16(0xe000, le), u32(content.length, le), content]);
  return Buffer.concat([u16(0xfffe, le), u16(0xe000, le), u32(UNDEFINED, le), content, u16(0xfffe, le), u16(0xe00d, le), u32(0, le)]);
}

/** An explicit VR SQ element holding `items`. */
function sequence(group: number, element: number, items: Buffer[], undefinedLength = false, le = true): Buffer {
  const body = Buffer.concat(items);
  const head = Buffer.concat([u16(group, le), u16(element, le), Buffer.from('SQ'), Buffer.alloc(2)]);
  if (!undefinedLength) return Buffer.concat([head, u32(body.length, le), body]);
  return Buffer.concat([head, u32(UNDEFINED, le), body, u16(0xfffe, le), u16(0xe0dd, le), u32(0, le)]);
}

/** Implicit VR little endian element. */
function implicit(group: number, element: number, value: Buffer | string): Buffer {
  let v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (v.length % 2 === 1) v = Buffer.concat([v, Buffer.from(' ')]);
  return Buffer.concat([u16(group), u16(element), u32(v.length), v]);
}

function find(dataset: Buffer, options: Partial<ConstructorParameters<typeof CridTextFinder>[0]> = {}, chunk = 0): CridTextFinder {
  const finder = new CridTextFinder({ explicitVr: true, littleEndian: true, ...options });
  if (chunk <= 0) finder.write(dataset);
  else for (let i = 0; i < dataset.length; i += chunk) finder.write(dataset.subarray(i, i + chunk));
  finder.end();
  return finder;
}

const where = (h: CridTextHit) => [...h.path.map((s) => `${s.tag.toString(16)}[${s.item}]`), h.tag.toString(16)].join('/');

describe('containsCridText', () => {
  it('matches CRID# in any case, anywhere', () => {
    assert.equal(containsCridText(Buffer.from('xx crid#1')), true);
    assert.equal(containsCridText(Buffer.from('CRCRID#')), true);
    assert.equal(containsCridText(Buffer.from('CRID 1234')), false);
    assert.equal(containsCridText(Buffer.from('CRI#D')), false);
  });
});

describe('CridTextFinder', () => {
  it('reports a top-level text element holding CRID# with its VR and value, and nothing else', () => {
    const ds = Buffer.concat([
      text(0x0010, 0x0010, 'PN', 'DOE^J'),
      text(0x0010, 0x4000, 'LT', `see ${ID}`),
      encodeElement({ group: 0x0011, element: 0x0010, vr: 'OB', value: Buffer.from(ID) }), // binary: not text
    ]);
    const finder = find(ds);
    assert.equal(finder.hits.length, 1);
    const [hit] = finder.hits;
    assert.equal(hit!.tag, 0x00104000);
    assert.equal(hit!.vr, 'LT');
    assert.deepEqual(hit!.path, []);
    assert.equal(hit!.value.toString('latin1'), `see ${ID} `);
    assert.equal(hit!.truncated, false);
  });

  it('finds text inside defined- and undefined-length sequences and items, with the path', () => {
    const inner = sequence(0x0040, 0x0260, [item(text(0x0008, 0x0104, 'LO', `x${ID}`), true)], true);
    const ds = Buffer.concat([
      text(0x0008, 0x0060, 'CS', 'CT'),
      sequence(0x0008, 0x1115, [
        item(text(0x0008, 0x1030, 'LO', 'plain')),
        item(Buffer.concat([text(0x0020, 0x4000, 'LT', ID), inner])),
      ]),
      text(0x0010, 0x0010, 'PN', 'crid#lower'),
    ]);
    const hits = find(ds).hits.map(where);
    assert.deepEqual(hits, ['81115[2]/204000', '81115[2]/400260[1]/80104', '100010']);
  });

  it('gives the same result for every split of the input', () => {
    const ds = Buffer.concat([
      sequence(0x0008, 0x1115, [item(text(0x0020, 0x4000, 'LT', ID), true), item(text(0x0010, 0x4000, 'LT', ID))], true),
      text(0x0010, 0x4000, 'LT', `a${ID}`),
      encodeElement({ group: 0x7fe0, element: 0x0010, vr: 'OW', value: Buffer.alloc(64) }),
    ]);
    const whole = find(ds).hits.map(where);
    assert.equal(whole.length, 3);
    for (const chunk of [1, 2, 3, 5, 7, 11, 13]) assert.deepEqual(find(ds, {}, chunk).hits.map(where), whole, `chunk ${chunk}`);
  });

  it('skips encapsulated pixel data fragments even when their bytes spell CRID#', () => {
    const pixelData = Buffer.concat([
      u16(0x7fe0), u16(0x0010), Buffer.from('OB'), Buffer.alloc(2), u32(UNDEFINED),
      item(Buffer.alloc(0)), item(Buffer.from(`${ID}xx`)),
      u16(0xfffe), u16(0xe0dd), u32(0),
    ]);
    const ds = Buffer.concat([text(0x0010, 0x4000, 'LT', 'none'), pixelData, text(0xfffc, 0xfffc, 'OB', '')]);
    assert.deepEqual(find(ds).hits, []);
  });

  it('reads implicit VR: an unknown tag is UN and a UN value made of items is walked as a sequence', () => {
    const nested = item(implicit(0x0010, 0x4000, ID));
    const ds = Buffer.concat([
      implicit(0x0010, 0x0010, 'DOE^J'),
      implicit(0x0010, 0x2201, `dog ${ID}`), // not in the compact dictionary: UN
      implicit(0x0040, 0x0275, nested), // a defined-length sequence the dictionary does not know
    ]);
    const hits = find(ds, { explicitVr: false });
    assert.deepEqual(hits.hits.map(where), ['102201', '400275[1]/104000']);
    assert.equal(hits.hits[0]!.vr, 'UN');
    assert.equal(hits.hits[1]!.vr, 'LT');
  });

  it('reads implicit VR sequences of undefined length', () => {
    const ds = Buffer.concat([
      u16(0x0040), u16(0x0275), u32(UNDEFINED),
      item(implicit(0x0032, 0x1060, ID), true),
      u16(0xfffe), u16(0xe0dd), u32(0),
      implicit(0x0040, 0x1001, 'after'),
    ]);
    assert.deepEqual(find(ds, { explicitVr: false }).hits.map(where), ['400275[1]/321060']);
  });

  it('reads explicit VR big endian', () => {
    const be = (group: number, element: number, vr: string, value: string) =>
      Buffer.concat([u16(group, false), u16(element, false), Buffer.from(vr), u16(value.length, false), Buffer.from(value)]);
    const ds = Buffer.concat([
      be(0x0010, 0x0010, 'PN', 'DOE^J '),
      sequence(0x0040, 0x0275, [item(be(0x0010, 0x4000, 'LT', `${ID} `), false, false)], true, false),
    ]);
    assert.deepEqual(find(ds, { littleEndian: false }).hits.map(where), ['400275[1]/104000']);
  });

  it('walks an explicit UN of undefined length as implicit VR little endian (PS3.5 §6.2.2)', () => {
    const ds = Buffer.concat([
      u16(0x0009), u16(0x1010), Buffer.from('UN'), Buffer.alloc(2), u32(UNDEFINED),
      item(implicit(0x0009, 0x1011, ID), true),
      u16(0xfffe), u16(0xe0dd), u32(0),
    ]);
    assert.deepEqual(find(ds).hits.map(where), ['91010[1]/91011']);
  });

  it('notes the watched top-level element', () => {
    const ds = Buffer.concat([text(0x0010, 0x2201, 'LO', 'dog'), sequence(0x0040, 0x0275, [item(text(0x0010, 0x4000, 'LT', 'x'))])]);
    const finder = find(ds, { watchTag: 0x00104000 });
    assert.equal(finder.watched, undefined, 'inside a sequence is not top level');
    assert.deepEqual(find(ds, { watchTag: 0x00102201 }).watched, { vr: 'LO', length: 4 });
  });

  it('keeps at most maxValueBytes of a value but still finds CRID# beyond them', () => {
    const ds = text(0x0010, 0x4000, 'LT', `${'x'.repeat(100)}${ID}`);
    const [hit] = find(ds, { maxValueBytes: 10 }, 7).hits;
    assert.equal(hit!.truncated, true);
    assert.equal(hit!.value.toString(), 'x'.repeat(10));
  });

  it('keeps at most maxHits hits and counts the rest', () => {
    const ds = Buffer.concat([1, 2, 3, 4].map((e) => text(0x0011, 0x1000 + e, 'LO', ID)));
    const finder = find(ds, { maxHits: 2 });
    assert.equal(finder.hits.length, 2);
    assert.equal(finder.hitsOmitted, 2);
  });

  it('refuses nesting deeper than the limit', () => {
    let ds = text(0x0010, 0x4000, 'LT', ID);
    for (let i = 0; i < 5; i++) ds = sequence(0x0040, 0x0275, [item(ds, true)], true);
    assert.equal(find(ds, { maxSequenceDepth: 5 }).hits.length, 1);
    assert.throws(() => find(ds, { maxSequenceDepth: 4 }), DatasetDecodeError);
  });

  it('refuses a dataset that ends inside an element or a sequence', () => {
    const ds = Buffer.concat([text(0x0010, 0x4000, 'LT', ID), sequence(0x0040, 0x0275, [item(Buffer.alloc(0), true)], true)]);
    assert.throws(() => find(ds.subarray(0, ds.length - 3)), DatasetDecodeError);
    assert.throws(() => find(ds.subarray(0, ds.length - 8)), DatasetDecodeError);
    assert.throws(() => find(Buffer.concat([u16(0xfffe), u16(0xe000), u32(0)])), DatasetDecodeError);
  });

  it('refuses an element that overruns its defined-length item', () => {
    const body = text(0x0010, 0x4000, 'LT', ID);
    const broken = Buffer.concat([u16(0xfffe), u16(0xe000), u32(body.length - 2), body]);
    const ds = Buffer.concat([u16(0x0040), u16(0x0275), Buffer.from('SQ'), Buffer.alloc(2), u32(broken.length), broken]);
    assert.throws(() => find(ds), DatasetDecodeError);
  });
});
