import test from 'node:test';
import assert from 'node:assert/strict';
import { addDays, checkExpiry, DEFAULT_MAX_LIFETIME_DAYS, expiryBounds, isDate, utcDate } from '../dates.js';

const at = (iso) => Date.parse(iso);

test('without the server\'s bound the picker runs from tomorrow (UTC) to today + the default lifetime limit', () => {
  assert.deepEqual(expiryBounds(at('2026-12-07T13:48:00Z')), { min: '2026-12-08', max: '2027-12-07' });
  assert.equal(DEFAULT_MAX_LIFETIME_DAYS, 365);
  // A malformed bound is no bound.
  assert.equal(expiryBounds(at('2026-12-07T10:00:00Z'), 'soon').max, '2027-12-07');
});

test('the days are UTC days, whatever the hour', () => {
  assert.equal(expiryBounds(at('2026-12-31T23:59:59Z')).min, '2027-01-01');
  assert.equal(expiryBounds(at('2027-01-01T00:00:00Z')).min, '2027-01-02');
});

test('leap days count', () => {
  assert.deepEqual(expiryBounds(at('2028-02-28T12:00:00Z')), { min: '2028-02-29', max: '2029-02-27' });
});

test('the server\'s latest date is the end of the range, nearer or further than the default', () => {
  assert.deepEqual(expiryBounds(at('2026-12-07T10:00:00Z'), '2027-03-07'), { min: '2026-12-08', max: '2027-03-07' });
  assert.equal(expiryBounds(at('2026-12-07T10:00:00Z'), '2028-12-06').max, '2028-12-06');
  // A token expiring tomorrow leaves one date; one expiring today none.
  const one = expiryBounds(at('2026-12-07T10:00:00Z'), '2026-12-08');
  assert.equal(one.max, one.min);
  const empty = expiryBounds(at('2026-12-07T10:00:00Z'), '2026-12-07');
  assert.ok(empty.max < empty.min);
});

test('dates are checked against the bounds', () => {
  const bounds = { min: '2026-12-08', max: '2027-12-07' };
  assert.equal(checkExpiry('2026-12-08', bounds), '');
  assert.equal(checkExpiry('2027-12-07', bounds), '');
  assert.match(checkExpiry('2026-12-07', bounds), /after today/);
  assert.match(checkExpiry('2027-12-08', bounds), /2027-12-07 at the latest/);
  assert.match(checkExpiry('', bounds), /Choose/);
  assert.match(checkExpiry('2027-02-30', bounds), /YYYY-MM-DD/);
});

test('date helpers', () => {
  assert.ok(isDate('2024-02-29'));
  assert.ok(!isDate('2023-02-29'));
  assert.ok(!isDate('2023-2-1'));
  assert.ok(!isDate(undefined));
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  assert.equal(utcDate(at('2026-12-07T23:30:00-05:00')), '2026-12-08');
});
