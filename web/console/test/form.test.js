import test from 'node:test';
import assert from 'node:assert/strict';
import { assignViolations, field, normalizeFieldPath, sentence } from '../form.js';
import { el } from '../dom.js';
import { FakeDocument } from './fake-dom.js';

test('field paths in either spelling name the same field', () => {
  assert.equal(normalizeFieldPath('expires_on'), 'expires_on');
  assert.equal(normalizeFieldPath('expiresOn'), 'expires_on');
  assert.equal(normalizeFieldPath('user.display_name'), 'display_name');
  assert.equal(normalizeFieldPath('user.displayName'), 'display_name');
  assert.equal(normalizeFieldPath('update_mask'), 'update_mask');
});

test('violations go to their fields; the others are kept with their field\u2019s name', () => {
  const { byField, rest } = assignViolations([
    { field: 'name', description: 'must not be empty' },
    { field: 'expiresOn', description: 'must be after 2026-12-07' },
    { field: 'page_token', description: 'is not a page token' },
    { field: '', description: '' },
  ], ['name', 'expires_on']);
  assert.deepEqual(byField, { name: ['must not be empty'], expires_on: ['must be after 2026-12-07'] });
  assert.deepEqual(rest, ['page_token: is not a page token', 'is not valid']);
  assert.deepEqual(assignViolations(undefined, ['name']), { byField: {}, rest: [] });
});

test('descriptions read as sentences', () => {
  assert.equal(sentence('must be after 2026-12-07'), 'Must be after 2026-12-07.');
  assert.equal(sentence('Already used.'), 'Already used.');
  assert.equal(sentence(''), '');
});

test('a field ties its label, hint and error to the input', () => {
  const doc = new FakeDocument();
  const f = field(doc, { label: 'Token Name', testid: 'n', hint: 'A hint', input: el(doc, 'input') });
  const id = f.input.getAttribute('id');
  assert.equal(f.node.byTag('label')[0].getAttribute('for'), id);
  assert.equal(f.input.getAttribute('data-testid'), 'n');
  assert.equal(f.input.getAttribute('aria-describedby'), `${id}-hint`);
  const error = f.node.byTestId('n-error');
  assert.ok(error.hidden);
  f.setError('<b>bad</b>');
  assert.equal(error.textContent, '<b>bad</b>');
  assert.ok(!error.hidden);
  assert.equal(f.input.getAttribute('aria-invalid'), 'true');
  assert.equal(f.input.getAttribute('aria-describedby'), `${id}-hint ${id}-error`);
  f.setError('');
  assert.ok(error.hidden);
  assert.equal(f.input.getAttribute('aria-invalid'), null);
});
