import test from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../api.js';
import { el } from '../dom.js';
import { openCreateToken, tokenActions } from '../token-actions.js';
import { FakeDocument } from './fake-dom.js';

const SECRET = 'utk_7Hq2abcdefghijklmnopqrstuvwxyzABCDEFXw9A';
const tick = () => new Promise((r) => setImmediate(r));

function context({ listScopes, tokenScopes = [] }) {
  const doc = new FakeDocument();
  const opener = el(doc, 'button', { testid: 'add-token' });
  doc.body.appendChild(opener);
  const failed = [];
  const created = [];
  const ctx = {
    doc,
    profile: { userId: 'alice', tokenScopes },
    expiryBounds: () => ({ min: '2026-12-08', max: '2027-12-07' }),
    api: {
      listScopes,
      createToken: async (v) => { created.push(v); return { token: { name: v.name, scopes: v.scopes }, secret: SECRET }; },
    },
    clipboard: {},
    fail: (err) => failed.push(err.code),
    notify: () => {},
  };
  return { doc, opener, ctx, failed, created };
}

test('Create Token asks ListScopes for the catalogue and passes the signed-in token\u2019s scopes on', async () => {
  const { doc, opener, ctx, created } = context({ listScopes: async () => ({ scopes: ['things:read', 'things:write'] }), tokenScopes: ['things:write'] });
  await openCreateToken(ctx, { opener, reload: () => {} });
  const boxes = doc.byTestId('create-token-dialog').allByTestId('create-token-scope');
  assert.deepEqual(boxes.map((b) => [b.getAttribute('value'), b.disabled]), [['things:read', true], ['things:write', false]]);
  boxes[1].checked = true;
  doc.byTestId('create-token-name').value = 'ci';
  doc.byTestId('create-token-expiry').value = '2027-01-01';
  doc.byTestId('create-token-dialog').byTag('form')[0].dispatch('submit');
  await tick();
  assert.deepEqual(created.map((c) => c.scopes), [['things:write']]);
  // The secret dialog names them.
  assert.equal(doc.byTestId('secret-token-scopes').textContent, 'things:write');
});

test('a server without ListScopes (unimplemented) or an empty catalogue: the dialog has no scopes', async () => {
  for (const listScopes of [async () => { throw new ApiError({ code: 'unimplemented' }); }, async () => ({})]) {
    const { doc, opener, ctx, failed } = context({ listScopes });
    await openCreateToken(ctx, { opener, reload: () => {} });
    assert.ok(doc.byTestId('create-token-dialog'));
    assert.equal(doc.byTestId('create-token-scopes'), null);
    assert.deepEqual(failed, []);
  }
});

test('another failure of ListScopes is the console\u2019s error, and no dialog opens', async () => {
  const { doc, opener, ctx, failed } = context({ listScopes: async () => { throw new ApiError({ code: 'unauthenticated' }); } });
  await openCreateToken(ctx, { opener, reload: () => {} });
  assert.deepEqual(failed, ['unauthenticated']);
  assert.equal(doc.byTestId('create-token-dialog'), null);
});

test('a second click while the catalogue is on its way opens no second dialog', async () => {
  let release;
  const { doc, opener, ctx } = context({ listScopes: () => new Promise((r) => { release = r; }) });
  const first = openCreateToken(ctx, { opener, reload: () => {} });
  await openCreateToken(ctx, { opener, reload: () => {} });
  release({ scopes: [] });
  await first;
  assert.equal(doc.body.allByTestId('create-token-dialog').length, 1);
});

test('Rotate shows the new secret with the scopes the token keeps', async () => {
  const { doc, opener, ctx } = context({ listScopes: async () => ({ scopes: [] }) });
  ctx.isSessionToken = () => false;
  ctx.api.rotateToken = async (id) => ({ token: { id: `${id}-new`, name: 'ci', scopes: ['things:read'] }, secret: SECRET });
  const rotated = tokenActions(ctx, () => {}).onRotate({ id: 't1', name: 'ci' }, opener);
  doc.byTestId('confirm-ok').click();
  await rotated;
  assert.equal(doc.byTestId('secret-token-scopes').textContent, 'things:read');
  assert.equal(doc.byTestId('secret-value').value, SECRET);
});
