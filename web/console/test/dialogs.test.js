import test from 'node:test';
import assert from 'node:assert/strict';
import { confirmDialog, createTokenDialog, secretDialog } from '../dialogs.js';
import { ApiError } from '../api.js';
import { el } from '../dom.js';
import { FakeDocument } from './fake-dom.js';

const SECRET = 'utk_7Hq2abcdefghijklmnopqrstuvwxyzABCDEFXw9A';
const tick = () => new Promise((r) => setImmediate(r));

function setup() {
  const doc = new FakeDocument();
  const opener = el(doc, 'button', { testid: 'add-token' });
  doc.body.appendChild(opener);
  return { doc, opener };
}

test('the secret dialog shows the secret once, copies it, and drops it on close', async () => {
  const { doc, opener } = setup();
  const copied = [];
  const { dialog } = secretDialog(doc, { secret: SECRET, tokenName: 'ci', opener, clipboard: { writeText: async (t) => { copied.push(t); } } });
  assert.ok(dialog.open);
  assert.equal(doc.byTestId('secret-value').value, SECRET);
  assert.equal(doc.byTestId('secret-value').hasAttribute('readonly'), true);
  assert.match(doc.byTestId('secret-warning').textContent, /This token will not be shown again/);
  doc.byTestId('secret-copy').click();
  await tick();
  assert.deepEqual(copied, [SECRET]);
  assert.match(doc.byTestId('secret-copied').textContent, /Copied/);
  const input = doc.byTestId('secret-value');
  doc.byTestId('secret-close').click();
  assert.equal(input.value, '');
  assert.equal(doc.byTestId('secret-dialog'), null);
  assert.equal(doc.activeElement, opener);
});

test('Escape (the dialog\u2019s own close) drops the secret too', () => {
  const { doc, opener } = setup();
  const { dialog } = secretDialog(doc, { secret: SECRET, tokenName: 'ci', opener, clipboard: {} });
  const input = doc.byTestId('secret-value');
  dialog.close();
  assert.equal(input.value, '');
  assert.equal(doc.byTestId('secret-dialog'), null);
});

test('a failed copy says how to copy by hand', async () => {
  const { doc, opener } = setup();
  secretDialog(doc, { secret: SECRET, tokenName: 'ci', opener, clipboard: { writeText: async () => { throw new Error('denied'); } } });
  doc.byTestId('secret-copy').click();
  await tick();
  assert.match(doc.byTestId('secret-copied').textContent, /Could not copy/);
});

function submitCreate(doc, name, date) {
  doc.byTestId('create-token-name').value = name;
  doc.byTestId('create-token-expiry').value = date;
  return doc.byTestId('create-token-dialog').byTag('form')[0].dispatch('submit');
}

test('create: date bounds on the picker, server field errors under their fields, then success', async () => {
  const { doc, opener } = setup();
  const bounds = { min: '2026-12-08', max: '2027-12-07' };
  const requests = [];
  const answers = [
    new ApiError({ code: 'invalid_argument', message: 'name: bad', fieldViolations: [{ field: 'name', description: 'must not contain control characters' }] }),
    { token: { name: 'ci' }, secret: SECRET },
  ];
  const created = [];
  createTokenDialog(doc, {
    bounds, opener,
    submit: async (v) => { requests.push(v); const a = answers.shift(); if (a instanceof Error) throw a; return a; },
    onCreated: (r) => created.push(r),
    onFatal: () => assert.fail('not fatal'),
  });
  const expiry = doc.byTestId('create-token-expiry');
  assert.equal(expiry.getAttribute('type'), 'date');
  assert.equal(expiry.getAttribute('min'), '2026-12-08');
  assert.equal(expiry.getAttribute('max'), '2027-12-07');
  assert.equal(doc.activeElement, doc.byTestId('create-token-name'));

  // Checked here first: nothing is sent.
  submitCreate(doc, '  ', '2026-12-07');
  await tick();
  assert.equal(requests.length, 0);
  assert.match(doc.byTestId('create-token-name-error').textContent, /Enter a name/);
  assert.match(doc.byTestId('create-token-expiry-error').textContent, /after today/);

  submitCreate(doc, 'bad\u0007name', '2027-01-01');
  await tick();
  assert.deepEqual(requests, [{ name: 'bad\u0007name', expiresOn: '2027-01-01', userId: '' }]);
  assert.equal(doc.byTestId('create-token-name-error').textContent, 'Must not contain control characters.');
  assert.ok(doc.byTestId('create-token-expiry-error').hidden);
  assert.ok(doc.byTestId('create-token-error').hidden);
  assert.ok(doc.byTestId('create-token-dialog'));

  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(created.length, 1);
  assert.equal(doc.byTestId('create-token-dialog'), null);
  assert.equal(doc.activeElement, opener);
});

test('create: an error without field violations shows its message above the buttons', async () => {
  const { doc, opener } = setup();
  createTokenDialog(doc, {
    bounds: { min: '2026-12-08', max: '2027-12-07' }, opener,
    submit: async () => { throw new ApiError({ code: 'resource_exhausted', message: 'too many tokens; wait 20 s' }); },
    onCreated: () => assert.fail('not created'), onFatal: () => assert.fail('not fatal'),
  });
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(doc.byTestId('create-token-error').textContent, 'too many tokens; wait 20 s');
  assert.ok(!doc.byTestId('create-token-error').hidden);
});

test('create: Escape cannot close the dialog while the request is in flight', async () => {
  const { doc, opener } = setup();
  let release;
  const created = [];
  createTokenDialog(doc, {
    bounds: { min: '2026-12-08', max: '2027-12-07' }, opener,
    submit: () => new Promise((r) => { release = r; }),
    onCreated: (r) => created.push(r), onFatal: () => {},
  });
  submitCreate(doc, 'ci', '2027-01-01');
  const dialog = doc.byTestId('create-token-dialog');
  assert.equal(dialog.dispatch('cancel').defaultPrevented, true);
  assert.equal(doc.byTestId('create-token-submit').disabled, true);
  release({ token: { name: 'ci' }, secret: SECRET });
  await tick();
  assert.equal(created.length, 1);
  assert.equal(doc.byTestId('create-token-dialog'), null);
});

test('create: unauthenticated closes the dialog and ends the session', async () => {
  const { doc, opener } = setup();
  const fatal = [];
  createTokenDialog(doc, {
    bounds: { min: '2026-12-08', max: '2027-12-07' }, opener,
    submit: async () => { throw new ApiError({ code: 'unauthenticated', message: 'token revoked' }); },
    onCreated: () => {}, onFatal: (e) => fatal.push(e.message),
  });
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.deepEqual(fatal, ['token revoked']);
  assert.equal(doc.byTestId('create-token-dialog'), null);
});

test('create for another user: the owner field and its server error', async () => {
  const { doc, opener } = setup();
  const requests = [];
  createTokenDialog(doc, {
    bounds: { min: '2026-12-08', max: '2027-12-07' }, opener, withOwner: true,
    submit: async (v) => { requests.push(v); throw new ApiError({ code: 'invalid_argument', message: 'user_id: no such user', fieldViolations: [{ field: 'user_id', description: 'no such user' }] }); },
    onCreated: () => {}, onFatal: () => {},
  });
  doc.byTestId('create-token-owner').value = 'nobody';
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(requests[0].userId, 'nobody');
  assert.equal(doc.byTestId('create-token-owner-error').textContent, 'No such user.');
});

test('confirm resolves true on confirm and false on cancel', async () => {
  const { doc, opener } = setup();
  const yes = confirmDialog(doc, { title: 'Revoke token', message: 'Revoke \u201cci\u201d?', confirmLabel: 'Revoke', danger: true, opener });
  assert.equal(doc.byTestId('confirm-message').textContent, 'Revoke \u201cci\u201d?');
  doc.byTestId('confirm-ok').click();
  assert.equal(await yes, true);
  assert.equal(doc.activeElement, opener);
  const no = confirmDialog(doc, { title: 't', message: 'm', confirmLabel: 'OK', opener });
  doc.byTestId('confirm-dialog').close();
  assert.equal(await no, false);
});
