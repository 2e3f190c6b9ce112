import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AssociationSlots } from '../../../../src/dicom/ul/association-slots.js';

describe('AssociationSlots', () => {
  it('counts against a changeable limit and never goes below zero', () => {
    const slots = new AssociationSlots(2);
    slots.take();
    assert.ok(!slots.full);
    slots.take();
    assert.ok(slots.full);
    slots.max = 3;
    assert.ok(!slots.full);
    slots.release();
    slots.release();
    slots.release();
    assert.equal(slots.inUse, 0);
    assert.throws(() => new AssociationSlots(0), RangeError);
  });
});
