import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NegotiatingConnections } from '../../../../src/dicom/ul/negotiating-connections.js';

describe('NegotiatingConnections (the cap on connections without an A-ASSOCIATE-RQ)', () => {
  it('counts connections up to the cap without dropping any', () => {
    const pool = new NegotiatingConnections<string>(3);
    assert.equal(pool.add('a'), undefined);
    assert.equal(pool.add('b'), undefined);
    assert.equal(pool.add('c'), undefined);
    assert.equal(pool.size, 3);
  });

  it('at the cap, drops the oldest silent connection first, for the newcomer', () => {
    const pool = new NegotiatingConnections<string>(3);
    for (const c of ['a', 'b', 'c']) pool.add(c);
    assert.equal(pool.add('d'), 'a');
    assert.equal(pool.add('e'), 'b');
    assert.equal(pool.size, 3);
    assert.ok(pool.has('c') && pool.has('d') && pool.has('e'));
    assert.ok(!pool.has('a') && !pool.has('b'));
  });

  it('a connection whose A-ASSOCIATE-RQ arrived leaves the pool and is never dropped', () => {
    const pool = new NegotiatingConnections<string>(2);
    pool.add('pacs');
    pool.add('silent-1');
    pool.delete('pacs'); // its RQ arrived
    assert.equal(pool.add('silent-2'), undefined);
    assert.equal(pool.add('silent-3'), 'silent-1');
    assert.ok(!pool.has('pacs'));
  });

  it('takeOldest empties the pool in arrival order; delete is idempotent', () => {
    const pool = new NegotiatingConnections<number>(5);
    for (const n of [1, 2, 3]) pool.add(n);
    pool.delete(2);
    pool.delete(2);
    assert.equal(pool.takeOldest(), 1);
    assert.equal(pool.takeOldest(), 3);
    assert.equal(pool.takeOldest(), undefined);
    assert.equal(pool.size, 0);
  });

  it('refuses a cap that is not a positive integer (programmer error)', () => {
    assert.throws(() => new NegotiatingConnections(0), RangeError);
    assert.throws(() => new NegotiatingConnections(1.5), RangeError);
  });
});
