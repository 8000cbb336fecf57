import test from 'node:test';
import assert from 'node:assert/strict';
import {
  addDays, checkExpiry, daysLeft, DEFAULT_EXPIRY_WARNING_DAYS, DEFAULT_MAX_LIFETIME_DAYS, expiryBounds, expiryWarningDays, isDate,
  utcDate, warningThreshold,
} from '../dates.js';
import { expiresInLabel } from '../format.js';

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

test('days left are whole UTC days to the expiry date', () => {
  // DESIGN.md: a token expiring on 2026-12-09 has 2 days left on 2026-12-07.
  assert.equal(daysLeft('2026-12-09', '2026-12-07'), 2);
  assert.equal(daysLeft('2026-12-08', '2026-12-07'), 1);
  assert.equal(daysLeft('2027-01-01', '2026-12-31'), 1);
  assert.equal(daysLeft('2028-03-01', '2028-02-28'), 2);
  assert.equal(daysLeft('2026-12-07', '2026-12-07'), 0);
  assert.ok(Number.isNaN(daysLeft('', '2026-12-07')));
  assert.ok(Number.isNaN(daysLeft('2026-12-09', 'today')));
});

test('the warning threshold is the largest of GetProfile\'s expiryWarningDays, 7 without one', () => {
  assert.equal(warningThreshold([7, 1]), 7);
  assert.equal(warningThreshold([1, 14, 3]), 14);
  assert.equal(warningThreshold([2]), 2);
  assert.equal(DEFAULT_EXPIRY_WARNING_DAYS, 7);
  assert.equal(warningThreshold([]), 7);
  assert.equal(warningThreshold(undefined), 7);
  // What is not a positive whole number is no threshold.
  assert.equal(warningThreshold([0, -3, 'x', 2.5]), 7);
});

test('the badge: ACTIVE tokens with at most the threshold\'s days left, and no others', () => {
  const today = '2026-12-07';
  const warning = { today, threshold: 7 };
  const active = (expiresOn) => ({ status: 'ACTIVE', expiresOn });
  // N = threshold: a badge; threshold + 1: none.
  assert.equal(expiryWarningDays(active(addDays(today, 7)), warning), 7);
  assert.equal(expiryWarningDays(active(addDays(today, 8)), warning), 0);
  // The last day.
  assert.equal(expiryWarningDays(active(addDays(today, 1)), warning), 1);
  assert.equal(expiresInLabel(1), 'expires in 1 day');
  assert.equal(expiresInLabel(7), 'expires in 7 days');
  // Another threshold moves the edge.
  assert.equal(expiryWarningDays(active(addDays(today, 2)), { today, threshold: 1 }), 0);
  assert.equal(expiryWarningDays(active(addDays(today, 14)), { today, threshold: 14 }), 14);
  // EXPIRED and REVOKED tokens get none, however near the date.
  for (const status of ['EXPIRED', 'REVOKED', 'TOKEN_STATUS_UNSPECIFIED', undefined]) {
    assert.equal(expiryWarningDays({ status, expiresOn: addDays(today, 3) }, warning), 0, String(status));
    assert.equal(expiryWarningDays({ status, expiresOn: today }, warning), 0, String(status));
  }
  // ACTIVE on its date by this browser's clock (the server's is behind):
  // less than a day left, said as 1.
  assert.equal(expiryWarningDays(active(today), warning), 1);
  assert.equal(expiryWarningDays(active(''), warning), 0);
});
