import test from 'node:test';
import assert from 'node:assert/strict';
import { formatInstant, formatLastUsed, initials, roleLabel, statusClass, statusLabel } from '../format.js';

test('statuses are shown as on the product page', () => {
  assert.equal(statusLabel('ACTIVE'), 'Active');
  assert.equal(statusLabel('EXPIRED'), 'Expired');
  assert.equal(statusLabel('REVOKED'), 'Revoked');
  assert.equal(statusLabel('TOKEN_STATUS_UNSPECIFIED'), 'Unknown');
  assert.equal(statusLabel(undefined), 'Unknown');
  assert.equal(statusClass('ACTIVE'), 'badge badge-active');
  assert.equal(statusClass('REVOKED'), 'badge badge-revoked');
  assert.equal(statusClass('constructor'), 'badge badge-unknown');
});

test('roles', () => {
  assert.equal(roleLabel('ADMIN'), 'Admin');
  assert.equal(roleLabel('USER'), 'User');
  assert.equal(roleLabel('SERVICE'), 'Service');
  assert.equal(roleLabel('ROLE_UNSPECIFIED'), 'Unknown');
  assert.equal(roleLabel('toString'), 'Unknown');
});

test('instants are shown in UTC to the minute', () => {
  assert.equal(formatInstant('2026-12-07T13:48:59.123456789Z'), '2026-12-07 13:48 UTC');
  assert.equal(formatInstant('2026-12-07T23:30:00-02:00'), '2026-12-08 01:30 UTC');
  assert.equal(formatInstant(''), '');
  assert.equal(formatInstant('yesterday'), '');
});

test('a token never used shows "Never"', () => {
  assert.equal(formatLastUsed(undefined), 'Never');
  assert.equal(formatLastUsed(''), 'Never');
  assert.equal(formatLastUsed('2026-12-07T13:48:00Z'), '2026-12-07 13:48 UTC');
});

test('initials for the avatar', () => {
  assert.equal(initials('Ada Lovelace'), 'AL');
  assert.equal(initials('  ada  '), 'A');
  assert.equal(initials('Ödön von Horváth'), 'ÖV');
  assert.equal(initials('', 'X'), 'X');
  // User input: signs and markup are no initials.
  assert.equal(initials('Bob <b onmouseover=alert(2)>Builder</b>'), 'BB');
  assert.equal(initials('"Ada" (admin)'), 'AA');
  assert.equal(initials('<> --', 'X'), 'X');
});

