import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPersonName, splitPersonName } from '../../../../src/bridge/naming/person-name.js';

const fmt = (pn: string) => formatPersonName(splitPersonName(pn));

describe('formatPersonName', () => {
  it('FAMILY^Given^Middle → FAMILY, Given Middle', () => assert.equal(fmt('HOLTZMANN^Carsten^Maria'), 'HOLTZMANN, Carsten Maria'));
  it('SPEC example', () => assert.equal(fmt('HOLTZMANN^Carsten'), 'HOLTZMANN, Carsten'));
  it('family only: no dangling comma', () => {
    assert.equal(fmt('Smith'), 'Smith');
    assert.equal(fmt('Smith^^^^'), 'Smith');
    assert.equal(fmt('Smith^ '), 'Smith');
  });
  it('given only', () => assert.equal(fmt('^John'), 'John'));
  it('empty middle component is left out', () => assert.equal(fmt('Doe^^Q'), 'Doe, Q'));
  it('prefix and suffix are left out', () => assert.equal(fmt('Doe^John^^Dr.^Jr.'), 'Doe, John'));
  it('padding spaces and NULs are trimmed', () => assert.equal(fmt(' Doe ^ John \0'), 'Doe, John'));
  it('only the alphabetic group is used', () => assert.equal(fmt('Yamada^Tarou=山田^太郎=やまだ^たろう'), 'Yamada, Tarou'));
  it('empty name', () => {
    assert.equal(fmt(''), '');
    assert.equal(formatPersonName({}), '');
  });
  it('non-Latin names pass unchanged', () => assert.equal(formatPersonName({ family: 'Διονυσιος', given: 'Νίκος' }), 'Διονυσιος, Νίκος'));
});
