import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { extractCrids, formatCrids, isCrid, mergeCrids } from '../../../../src/bridge/crid/extract.js';

const A = '1234567890123456';
const B = '9876543210987654';
const b = (s: string) => Buffer.from(s, 'latin1');

function expectIds(value: string, kept: string, ids: string[]): void {
  const r = extractCrids(b(value));
  assert.equal(r.malformed, null, `unexpected malformed: ${r.malformed}`);
  assert.equal(r.kept.toString('latin1'), kept);
  assert.deepEqual(r.ids, ids);
}

function expectMalformed(value: string, reason: RegExp): void {
  const input = b(value);
  const r = extractCrids(input);
  assert.ok(r.malformed !== null, `expected malformed for ${JSON.stringify(value)}`);
  assert.match(r.malformed, reason);
  assert.deepEqual(r.ids, []);
  assert.ok(r.kept.equals(input), 'a malformed value is kept whole');
}

describe('extractCrids: valid trailing IDs', () => {
  it('one ID after text; the text is kept untrimmed', () => expectIds(`Dog breed CRID#${A}`, 'Dog breed ', [A]));
  it('two concatenated IDs (SPEC example)', () => expectIds(`...textCRID#${A}CRID#${B}`, '...text', [A, B]));
  it('a value that is only an ID', () => expectIds(`CRID#${A}`, '', [A]));
  it('five IDs', () => {
    const ids = ['1', '2', '3', '4', '5'].map((d) => d.repeat(16));
    expectIds(`x${formatCrids(ids)}`, 'x', ids);
  });
  it('trailing padding spaces and a NUL are ignored', () => {
    expectIds(`abcCRID#${A} `, 'abc', [A]);
    expectIds(`abcCRID#${A}\0`, 'abc', [A]);
    expectIds(`abcCRID#${A}   `, 'abc', [A]);
  });
  it('duplicates are kept once, in order of first appearance', () => expectIds(`CRID#${B}CRID#${A}CRID#${B}`, '', [B, A]));
  it('non-ASCII bytes before the IDs are kept byte for byte', () => {
    const head = Buffer.from('Müller ヤマダ', 'utf8');
    const r = extractCrids(Buffer.concat([head, b(`CRID#${A}`)]));
    assert.ok(r.kept.equals(head));
    assert.deepEqual(r.ids, [A]);
  });
  it('kept is a view on the input, not a copy', () => {
    const input = b(`abCRID#${A}`);
    assert.equal(extractCrids(input).kept.buffer, input.buffer);
  });
});

describe('extractCrids: nothing to do', () => {
  it('no CRID# at all', () => {
    const input = b('Labrador ');
    const r = extractCrids(input);
    assert.equal(r.kept, input);
    assert.deepEqual(r.ids, []);
    assert.equal(r.malformed, null);
  });
  it('an empty value', () => assert.deepEqual(extractCrids(Buffer.alloc(0)).ids, []));
  it('digits or "CRID" without # are plain text', () => {
    const r = extractCrids(b(`CRID ${A} #1`));
    assert.equal(r.malformed, null);
    assert.deepEqual(r.ids, []);
  });
});

describe('extractCrids: malformed values are left as they are', () => {
  it('15 digits', () => expectMalformed(`abcCRID#${A.slice(1)}`, /15 digits instead of 16/));
  it('17 digits', () => expectMalformed(`abcCRID#${A}7`, /17 digits instead of 16/));
  it('no digits', () => expectMalformed('abcCRID#', /0 digits instead of 16/));
  it('an ID followed by text', () => expectMalformed(`CRID#${A} dog`, /not at the end/));
  it('an ID in the middle before a valid ID', () => expectMalformed(`CRID#${A}xCRID#${B}`, /not at the end/));
  it('a broken ID before a valid one', () => expectMalformed(`CRID#12CRID#${B}`, /2 digits instead of 16/));
  it('a valid ID followed by a broken one reports the broken one', () => expectMalformed(`CRID#${A}CRID#12`, /2 digits instead of 16/));
  it('a space between two IDs', () => expectMalformed(`CRID#${A} CRID#${B}`, /not at the end/));
  it('lower or mixed case prefix', () => {
    expectMalformed(`crid#${A}`, /not the upper-case prefix/);
    expectMalformed(`xCrId#${A}`, /not the upper-case prefix/);
  });
  it('six IDs', () => expectMalformed(formatCrids(['1', '2', '3', '4', '5', '6'].map((d) => d.repeat(16))), /6 IDs .* at most 5/));
  it('non-ASCII digits are not digits', () => {
    const r = extractCrids(Buffer.concat([b('CRID#'), Buffer.from('１２３４５６７８９０１２３４５６', 'utf8')]));
    assert.ok(r.malformed !== null);
  });
});

describe('extractCrids properties', () => {
  // Text before the IDs: any bytes that do not spell crid# in any case.
  const textBytes = fc
    .uint8Array({ maxLength: 64 })
    .map((a) => Buffer.from(a))
    .filter((buf) => !buf.toString('latin1').toUpperCase().includes('CRID#'));
  const id = fc.stringMatching(/^[0-9]{16}$/);
  const padding = fc.constantFrom('', ' ', '\0', '   ');

  it('valid values: kept + re-concatenated IDs == original minus padding', () => {
    fc.assert(
      fc.property(textBytes, fc.uniqueArray(id, { minLength: 1, maxLength: 5 }), padding, (text, ids, pad) => {
        const body = Buffer.concat([text, b(formatCrids(ids))]);
        const r = extractCrids(Buffer.concat([body, b(pad)]));
        assert.equal(r.malformed, null);
        assert.deepEqual(r.ids, ids);
        assert.ok(Buffer.concat([r.kept, b(formatCrids(r.ids))]).equals(body));
      }),
    );
  });

  it('duplicates collapse to the distinct IDs in order', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(A, B), { minLength: 1, maxLength: 5 }), (ids) => {
        const r = extractCrids(b(formatCrids(ids)));
        assert.deepEqual(r.ids, [...new Set(ids)]);
        assert.equal(r.kept.length, 0);
      }),
    );
  });

  it('arbitrary values never throw and keep the invariants', () => {
    const alphabet = fc.constantFrom(...'CRID#crid0123456789 x\0'.split(''));
    const values = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.array(alphabet, { maxLength: 120 }).map((cs) => b(cs.join(''))),
    );
    fc.assert(
      fc.property(values, (value) => {
        const r = extractCrids(value);
        assert.ok(r.ids.length <= 5);
        assert.ok(r.ids.every(isCrid));
        if (r.malformed !== null || r.ids.length === 0) {
          assert.ok(r.kept.equals(value));
          assert.deepEqual(r.ids, []);
        } else {
          assert.ok(value.subarray(0, r.kept.length).equals(r.kept));
          assert.ok(!r.kept.toString('latin1').toUpperCase().includes('CRID#'));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('mergeCrids', () => {
  it('is a union in order of first appearance and mutates into', () => {
    const into = [A];
    const result = mergeCrids(into, [B, A, B]);
    assert.equal(result, into);
    assert.deepEqual(into, [A, B]);
    assert.deepEqual(mergeCrids([], []), []);
  });
});
