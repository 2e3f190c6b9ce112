import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sanitizeFileNameComponent as s } from '../../../../src/bridge/naming/file-name.js';

const wellFormed = (x: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(x);

describe('sanitizeFileNameComponent', () => {
  it('replaces characters Windows or Linux forbid with -', () => {
    assert.equal(s('a<b>c:d"e/f\\g|h?i*j'), 'a-b-c-d-e-f-g-h-i-j');
    assert.equal(s('a\u0001b\u007fc\u0085d'), 'a-b-c-d');
  });
  it('collapses whitespace, also tabs and newlines', () => assert.equal(s('a \t\n  b\u3000c'), 'a b c'));
  it('no leading space, no trailing dot or space', () => {
    assert.equal(s('  name. . '), 'name');
    assert.equal(s('.'), '');
    assert.equal(s('..'), '');
    assert.equal(s('.hidden'), '.hidden');
  });
  it('path traversal cannot survive', () => assert.equal(s('../../etc/passwd'), '..-..-etc-passwd'));
  it('prefixes Windows device names', () => {
    assert.equal(s('CON'), '-CON');
    assert.equal(s('nul.txt'), '-nul.txt');
    assert.equal(s('com1'), '-com1');
    assert.equal(s('LPT9'), '-LPT9');
    assert.equal(s('CONSOLE'), 'CONSOLE');
    assert.equal(s('COM10'), 'COM10');
  });
  it('keeps Unicode letters, removes bidi controls and lone surrogates', () => {
    assert.equal(s('山田^太郎'), '山田^太郎');
    assert.equal(s('Müller'), 'Müller');
    assert.equal(s('😀'), '😀');
    assert.equal(s('a\u202eb'), 'a-b');
    assert.equal(s('a\ud800b'), 'a-b');
  });
  it('keeps _ (the ZIP builder handles its own separator)', () => assert.equal(s('a_b'), 'a_b'));
  it('output never holds a forbidden character or ends in dot/space', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (input) => {
        const out = s(input);
        // eslint-disable-next-line no-control-regex -- control characters are what is being matched
        assert.doesNotMatch(out, /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f]/);
        assert.doesNotMatch(out, /[. ]$/);
        assert.doesNotMatch(out, /^ /);
        assert.ok(wellFormed(out));
        assert.equal(s(out), out, 'idempotent');
      }),
      { numRuns: 1000 },
    );
  });
});
