import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { binScriptPath, serviceProgram } from '../../../src/cli/service-command.js';
import { isSingleExecutable } from '../../../src/runtime/embedded.js';

describe('serviceProgram', () => {
  it('is the executable itself in a single executable, node and the bin script otherwise', async () => {
    assert.deepEqual(serviceProgram(true), { execPath: process.execPath });
    assert.deepEqual(serviceProgram(false), { execPath: process.execPath, scriptPath: binScriptPath() });
    await access(binScriptPath());
  });

  it('knows that the test run is no single executable', () => {
    assert.equal(isSingleExecutable(), false);
    assert.deepEqual(serviceProgram(), serviceProgram(false));
  });
});
