import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddedAsset, isSingleExecutable } from '../../../src/runtime/embedded.js';

describe('embedded files', () => {
  it('run from the sources, nothing is embedded (callers read the source tree)', () => {
    assert.equal(isSingleExecutable(), false);
    assert.equal(embeddedAsset('public/index.html'), undefined);
    assert.equal(embeddedAsset('winsw.exe'), undefined);
  });
});
