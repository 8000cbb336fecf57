import test from 'node:test';
import assert from 'node:assert/strict';
import { clear, el } from '../dom.js';
import { secretDialog } from '../dialogs.js';
import { renderTokenTable, renderUserTable } from '../table.js';
import { FakeDocument, FakeText } from './fake-dom.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

const token = (over = {}) => ({
  id: 't1', name: 'QA-Test-Token', hint: 'utk_7Hq2\u2026Xw9A', userId: 'alice', userDisplayName: 'Alice',
  createdAt: '2026-12-01T10:00:00Z', expiresOn: '2027-04-11', status: 'ACTIVE', ...over,
});

test('el() puts text in text nodes and refuses attributes that run code or style', () => {
  const doc = new FakeDocument();
  const node = el(doc, 'p', { className: 'x', testid: 'p', attrs: { title: HOSTILE, hidden: false } }, HOSTILE, null, false);
  assert.equal(node.childNodes.length, 1);
  assert.ok(node.childNodes[0] instanceof FakeText);
  assert.equal(node.textContent, HOSTILE);
  assert.equal(node.getAttribute('title'), HOSTILE);
  assert.equal(node.getAttribute('data-testid'), 'p');
  assert.equal(node.hasAttribute('hidden'), false);
  assert.throws(() => el(doc, 'img', { attrs: { onerror: 'alert(1)' } }), /onerror/);
  assert.throws(() => el(doc, 'div', { attrs: { style: 'color:red' } }), /style/);
  assert.throws(() => el(doc, 'iframe', { attrs: { srcdoc: HOSTILE } }), /srcdoc/);
  clear(node);
  assert.equal(node.childNodes.length, 0);
});

test('a hostile token name and user name render as text, creating no element', () => {
  const doc = new FakeDocument();
  const table = renderTokenTable(doc, [token({ name: HOSTILE, userDisplayName: HOSTILE })], { showUser: true });
  const row = table.byTestId('token-row');
  assert.equal(row.byTestId('token-name').textContent, HOSTILE);
  assert.ok(row.byTestId('token-user').textContent.startsWith(HOSTILE));
  assert.equal(doc.created.filter((e) => e.tagName === 'IMG').length, 0);
  // Every text the user supplied is a text node.
  assert.ok(row.byTestId('token-name').childNodes.every((c) => c instanceof FakeText));
});

test('the token table has the product page\u2019s columns', () => {
  const doc = new FakeDocument();
  const own = renderTokenTable(doc, [token()]);
  assert.deepEqual(own.byTag('th').map((th) => th.textContent), ['Name', 'Token', 'Created', 'Last used', 'Expiry', 'Status', 'Actions']);
  const all = renderTokenTable(doc, [token()], { showUser: true });
  assert.deepEqual(all.byTag('th').map((th) => th.textContent), ['Name', 'Token', 'User', 'Created', 'Last used', 'Expiry', 'Status', 'Actions']);
  assert.equal(all.byTestId('all-tokens-table').tagName, 'TABLE');
  const row = own.byTestId('token-row');
  assert.equal(row.getAttribute('data-token-id'), 't1');
  assert.equal(row.byTestId('token-hint').textContent, 'utk_7Hq2\u2026Xw9A');
  assert.equal(row.byTestId('token-created').textContent, '2026-12-01 10:00 UTC');
  // It may wrap between the date and the time, never inside either.
  assert.deepEqual(row.byTestId('token-created').byTag('span').filter((s) => s.className === 'nowrap')
    .map((s) => s.textContent), ['2026-12-01', '10:00 UTC']);
  assert.equal(row.byTestId('token-last-used').textContent, 'Never');
  assert.equal(row.byTestId('token-expiry').textContent, '2027-04-11');
  assert.equal(row.byTestId('expiry-badge'), null);
  assert.equal(row.byTestId('token-status').textContent, 'Active');
});

test('each token\u2019s scopes under its name, or full access', () => {
  const doc = new FakeDocument();
  const table = renderTokenTable(doc, [token({ scopes: ['things:read', 'things:write'] }), token({ id: 't2', scopes: [] }), token({ id: 't3' })],
    { showUser: true });
  const rows = table.allByTestId('token-row');
  assert.deepEqual(rows.map((r) => r.byTestId('token-scopes').textContent), ['things:read things:write', 'full access', 'full access']);
  assert.deepEqual(rows[0].byTestId('token-scopes').byTag('code').map((c) => c.textContent), ['things:read', 'things:write']);
  // The name stays the name; a screen reader hears "Scopes:" before them.
  assert.equal(rows[0].byTestId('token-name').textContent, 'QA-Test-Token');
  assert.ok(rows[0].byTag('span').some((s) => s.className === 'visually-hidden' && s.textContent === 'Scopes: '));
});

test('scope names are text too, in the tables and the secret dialog', () => {
  const doc = new FakeDocument();
  const table = renderTokenTable(doc, [token({ scopes: [HOSTILE] })]);
  assert.equal(table.byTestId('token-scopes').textContent, HOSTILE);
  assert.ok(table.byTestId('token-scopes').byTag('code')[0].childNodes.every((c) => c instanceof FakeText));
  secretDialog(doc, { secret: 'utk_x', tokenName: 'ci', scopes: [HOSTILE], opener: null, clipboard: {} });
  assert.equal(doc.byTestId('secret-token-scopes').textContent, HOSTILE);
  assert.equal(doc.created.filter((e) => e.tagName === 'IMG').length, 0);
});

test('an ACTIVE token within the warning threshold has an "expires in N days" badge beside its expiry', () => {
  const doc = new FakeDocument();
  const warning = { today: '2026-12-07', threshold: 7 };
  const tokens = [
    token({ id: 'edge', expiresOn: '2026-12-14' }), // 7 days: the threshold
    token({ id: 'beyond', expiresOn: '2026-12-15' }), // 8 days
    token({ id: 'last', expiresOn: '2026-12-08' }), // 1 day
    token({ id: 'expired', expiresOn: '2026-12-07', status: 'EXPIRED' }),
    token({ id: 'revoked', expiresOn: '2026-12-09', status: 'REVOKED' }),
  ];
  for (const showUser of [false, true]) {
    const table = renderTokenTable(doc, tokens, { showUser, warning });
    const badges = Object.fromEntries(table.allByTestId('token-row').map((r) => {
      const badge = r.byTestId('expiry-badge');
      return [r.getAttribute('data-token-id'), badge && badge.textContent];
    }));
    assert.deepEqual(badges, { edge: 'expires in 7 days', beyond: null, last: 'expires in 1 day', expired: null, revoked: null });
    const edge = table.allByTestId('token-row')[0];
    assert.equal(edge.byTestId('token-expiry').textContent, '2026-12-14');
    // In the expiry's cell, as text, wrapping (if it must) only before "7 days".
    assert.equal(edge.byTestId('token-expiry').parentNode, edge.byTestId('expiry-badge').parentNode);
    assert.deepEqual(edge.byTestId('expiry-badge').byTag('span').map((p) => [p.className, p.textContent]),
      [['nowrap', 'expires in'], ['nowrap', '7 days']]);
  }
});

test('last use shows when and from where', () => {
  const doc = new FakeDocument();
  const t = renderTokenTable(doc, [token({ lastUsedAt: '2026-12-06T08:00:00Z', lastUsedFrom: '10.0.0.7' })]);
  assert.equal(t.byTestId('token-last-used').textContent, '2026-12-06 08:00 UTCfrom 10.0.0.7');
});

test('only active tokens offer Rotate and Revoke, which call back with the token', () => {
  const doc = new FakeDocument();
  const seen = [];
  const table = renderTokenTable(doc, [token(), token({ id: 't2', status: 'REVOKED' }), token({ id: 't3', status: 'EXPIRED' })], {
    onRotate: (t) => seen.push(['rotate', t.id]),
    onRevoke: (t) => seen.push(['revoke', t.id]),
  });
  const rows = table.allByTestId('token-row');
  assert.equal(rows[0].byTestId('token-revoke').getAttribute('aria-label'), 'Revoke QA-Test-Token');
  assert.equal(rows[1].byTestId('token-revoke'), null);
  assert.equal(rows[2].byTestId('token-rotate'), null);
  assert.deepEqual(rows.map((r) => r.byTestId('token-status').textContent), ['Active', 'Revoked', 'Expired']);
  rows[0].byTestId('token-rotate').click();
  rows[0].byTestId('token-revoke').click();
  assert.deepEqual(seen, [['rotate', 't1'], ['revoke', 't1']]);
});

test('an empty list says so', () => {
  const doc = new FakeDocument();
  const table = renderTokenTable(doc, []);
  assert.equal(table.byTestId('own-tokens-table-empty').textContent, 'No tokens yet.');
});

test('the users table: no controls on the caller\u2019s own row', () => {
  const doc = new FakeDocument();
  const calls = [];
  const table = renderUserTable(doc, [
    { userId: 'admin', displayName: 'Ada', role: 'ADMIN' },
    { userId: 'alice', displayName: HOSTILE, email: 'a@example.com', role: 'USER', disabled: true },
  ], {
    selfId: 'admin',
    onChangeRole: (u, role) => calls.push(['role', u.userId, role]),
    onToggleDisabled: (u) => calls.push(['toggle', u.userId]),
  });
  const [self, alice] = table.allByTestId('user-row');
  assert.equal(self.byTestId('user-role-select'), null);
  assert.equal(self.byTestId('user-disable'), null);
  assert.equal(self.byTestId('user-role').textContent, 'Admin');
  assert.equal(alice.byTestId('user-name').textContent, HOSTILE);
  assert.equal(alice.byTestId('user-status').textContent, 'Disabled');
  assert.equal(alice.getAttribute('data-disabled'), 'true');
  const select = alice.byTestId('user-role-select');
  select.value = 'ADMIN';
  select.dispatch('change');
  alice.byTestId('user-enable').click();
  assert.deepEqual(calls, [['role', 'alice', 'ADMIN'], ['toggle', 'alice']]);
  assert.equal(doc.created.filter((e) => e.tagName === 'IMG').length, 0);
});
