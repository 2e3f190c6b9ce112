import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openCommand } from '../../../src/web/open-browser.js';

describe('openCommand', () => {
  const url = 'http://127.0.0.1:8104/';
  it('uses the desktop opener of each platform', () => {
    assert.deepEqual(openCommand(url, 'linux'), { command: 'xdg-open', args: [url] });
    assert.deepEqual(openCommand(url, 'darwin'), { command: 'open', args: [url] });
    // `start` takes its first quoted argument as a window title: an empty one comes first.
    assert.deepEqual(openCommand(url, 'win32'), { command: 'cmd', args: ['/c', 'start', '""', url] });
  });
});
