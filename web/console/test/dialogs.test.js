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
  assert.deepEqual(requests, [{ name: 'bad\u0007name', expiresOn: '2027-01-01', userId: '', scopes: [] }]);
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

const BOUNDS = { min: '2026-12-08', max: '2027-12-07' };
const CATALOGUE = ['things:read', 'things:write'];
const scopeBoxes = (doc) => doc.byTestId('create-token-dialog').allByTestId('create-token-scope');

test('create: one checkbox per scope, none checked, the full-access line, and the choice in the request', async () => {
  const { doc, opener } = setup();
  const requests = [];
  createTokenDialog(doc, {
    bounds: BOUNDS, opener, catalogue: CATALOGUE, tokenScopes: [],
    submit: async (v) => { requests.push(v); return { token: { name: 'ci', scopes: v.scopes }, secret: SECRET }; },
    onCreated: () => {}, onFatal: () => assert.fail('not fatal'),
  });
  const group = doc.byTestId('create-token-scopes');
  assert.equal(group.tagName, 'FIELDSET');
  assert.equal(group.byTag('legend')[0].textContent, 'Scopes');
  const boxes = scopeBoxes(doc);
  assert.deepEqual(boxes.map((b) => [b.getAttribute('type'), b.getAttribute('value'), Boolean(b.checked), b.disabled]),
    [['checkbox', 'things:read', false, false], ['checkbox', 'things:write', false, false]]);
  // Each checkbox is named by its label.
  for (const box of boxes) {
    const label = group.byTag('label').find((l) => l.getAttribute('for') === box.getAttribute('id'));
    assert.equal(label.textContent, box.getAttribute('value'));
  }
  assert.match(doc.byTestId('create-token-scopes-hint').textContent, /A token without scopes has your full access/);
  assert.ok(group.getAttribute('aria-describedby').includes(doc.byTestId('create-token-scopes-hint').getAttribute('id')));

  boxes[1].checked = true;
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.deepEqual(requests, [{ name: 'ci', expiresOn: '2027-01-01', userId: '', scopes: ['things:write'] }]);
});

test('create: none chosen from a token without scopes sends no scopes (full access)', async () => {
  const { doc, opener } = setup();
  const requests = [];
  createTokenDialog(doc, {
    bounds: BOUNDS, opener, catalogue: CATALOGUE,
    submit: async (v) => { requests.push(v); return { token: { name: 'ci' }, secret: SECRET }; },
    onCreated: () => {}, onFatal: () => {},
  });
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.deepEqual(requests.map((r) => r.scopes), [[]]);
  assert.equal(doc.byTestId('create-token-dialog'), null);
});

test('create: an empty catalogue shows no scopes section', () => {
  const { doc, opener } = setup();
  createTokenDialog(doc, { bounds: BOUNDS, opener, catalogue: [], submit: async () => ({}), onCreated: () => {}, onFatal: () => {} });
  assert.equal(doc.byTestId('create-token-scopes'), null);
  assert.equal(scopeBoxes(doc).length, 0);
  assert.ok(doc.byTestId('create-token-name'));
});

test('create: signed in with a scoped token, the others are disabled with a reason and one must be chosen', async () => {
  const { doc, opener } = setup();
  const requests = [];
  createTokenDialog(doc, {
    bounds: BOUNDS, opener, catalogue: CATALOGUE, tokenScopes: ['things:read'],
    submit: async (v) => { requests.push(v); return { token: { name: 'ci' }, secret: SECRET }; },
    onCreated: () => {}, onFatal: () => {},
  });
  const [read, write] = scopeBoxes(doc);
  assert.equal(read.disabled, false);
  assert.equal(write.disabled, true);
  assert.equal(write.hasAttribute('disabled'), true);
  const reason = doc.byTestId('create-token-scopes').byTag('span').find((s) => s.getAttribute('id') === write.getAttribute('aria-describedby'));
  assert.match(reason.textContent, /signed in with does not have this scope/);
  assert.equal(read.getAttribute('aria-describedby'), null);
  assert.match(doc.byTestId('create-token-scopes-hint').textContent, /must have at least one of them/);

  // None chosen: refused here, under the checkboxes, nothing sent.
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(requests.length, 0);
  assert.equal(doc.byTestId('create-token-scopes-error').textContent, 'Choose at least one scope.');
  assert.ok(!doc.byTestId('create-token-scopes-error').hidden);
  assert.equal(doc.activeElement, read);
  // A disabled box that is somehow checked is not sent.
  write.checked = true;
  read.checked = true;
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.deepEqual(requests.map((r) => r.scopes), [['things:read']]);
});

test('create: the server\u2019s INVALID_ARGUMENT on scopes goes under the checkboxes, PERMISSION_DENIED above the buttons', async () => {
  const { doc, opener } = setup();
  const answers = [
    new ApiError({ code: 'invalid_argument', message: 'scopes: not in the catalogue: things:delete', fieldViolations: [{ field: 'scopes', description: 'not in the catalogue: things:delete' }] }),
    new ApiError({ code: 'invalid_argument', message: 'bad', fieldViolations: [{ field: 'scopes[1]', description: 'named twice' }] }),
    new ApiError({ code: 'permission_denied', message: 'a token with scopes cannot create a token without scopes' }),
  ];
  createTokenDialog(doc, {
    bounds: BOUNDS, opener, catalogue: CATALOGUE,
    submit: async () => { throw answers.shift(); },
    onCreated: () => assert.fail('not created'), onFatal: () => assert.fail('not fatal'),
  });
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(doc.byTestId('create-token-scopes-error').textContent, 'Not in the catalogue: things:delete.');
  assert.ok(doc.byTestId('create-token-error').hidden);
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.equal(doc.byTestId('create-token-scopes-error').textContent, 'Named twice.');
  submitCreate(doc, 'ci', '2027-01-01');
  await tick();
  assert.ok(doc.byTestId('create-token-scopes-error').hidden);
  assert.equal(doc.byTestId('create-token-error').textContent, 'a token with scopes cannot create a token without scopes');
  assert.ok(doc.byTestId('create-token-dialog'));
});

test('the secret dialog shows the new token\u2019s scopes, or full access', () => {
  const { doc, opener } = setup();
  const one = secretDialog(doc, { secret: SECRET, tokenName: 'ci', scopes: ['things:read', 'things:write'], opener, clipboard: {} });
  assert.equal(doc.byTestId('secret-token-scopes').textContent, 'things:read things:write');
  one.close();
  secretDialog(doc, { secret: SECRET, tokenName: 'ci', opener, clipboard: {} });
  assert.equal(doc.byTestId('secret-token-scopes').textContent, 'none, full access');
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
