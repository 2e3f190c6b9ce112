import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerialQueue } from '../../../src/bridge/serial-queue.js';

describe('SerialQueue', () => {
  it('runs jobs one at a time in order, counts them, and survives a failing job', async () => {
    const errors: unknown[] = [];
    const queue = new SerialQueue((err) => errors.push(err));
    const log: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) => async () => {
      running += 1;
      assert.equal(running, 1, 'never two at once');
      await new Promise((r) => setImmediate(r));
      log.push(name);
      running -= 1;
      if (fail) throw new Error(name);
    };
    const a = queue.push(job('a'));
    queue.push(job('b', true));
    queue.push(job('c'));
    assert.equal(queue.size, 3);
    await a;
    await queue.idle();
    assert.deepEqual(log, ['a', 'b', 'c']);
    assert.equal(queue.size, 0);
    assert.equal((errors[0] as Error).message, 'b');
  });
});
