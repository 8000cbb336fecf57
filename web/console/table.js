// Tables of tokens and users. Cells are built from text nodes only.

import { DEFAULT_EXPIRY_WARNING_DAYS, expiryWarningDays, utcDate } from './dates.js';
import { el } from './dom.js';
import {
  expiresInParts, formatInstant, formatLastUsed, roleLabel, statusClass, statusLabel,
} from './format.js';
import { renderScopes } from './scopes.js';

// columns: [{header, testid, className, cell(row, doc) -> Node | string}]
export function renderTable(doc, { columns, rows, rowProps = () => ({}), empty, testid, caption }) {
  const head = el(doc, 'thead', {}, el(doc, 'tr', {},
    columns.map((c) => el(doc, 'th', { attrs: { scope: 'col' }, className: c.className === 'cell-actions' ? 'cell-actions' : undefined, text: c.header }))));
  const body = el(doc, 'tbody');
  if (rows.length === 0) {
    body.appendChild(el(doc, 'tr', { testid: `${testid}-empty` },
      el(doc, 'td', { className: 'empty', attrs: { colspan: columns.length }, text: empty })));
  }
  for (const row of rows) {
    body.appendChild(el(doc, 'tr', rowProps(row),
      columns.map((c) => el(doc, 'td', { className: c.className, testid: c.testid }, c.cell(row, doc)))));
  }
  return el(doc, 'div', { className: 'table-wrap' },
    el(doc, 'table', { className: 'table', testid },
      caption ? el(doc, 'caption', { className: 'visually-hidden', text: caption }) : null, head, body));
}

export function statusBadge(doc, status) {
  return el(doc, 'span', { className: statusClass(status), testid: 'status-badge', text: statusLabel(status) });
}

// "2026-12-07 17:55 UTC" that may wrap after the date, never inside it or
// inside the time, so a wide table can still fit its window.
function instant(doc, text) {
  const space = text.indexOf(' ');
  if (space < 0) return text;
  return el(doc, 'span', {},
    el(doc, 'span', { className: 'nowrap', text: text.slice(0, space) }), ' ',
    el(doc, 'span', { className: 'nowrap', text: text.slice(space + 1) }));
}

function lastUsedCell(token, doc) {
  const when = instant(doc, formatLastUsed(token.lastUsedAt));
  if (!token.lastUsedAt || !token.lastUsedFrom) return when;
  return el(doc, 'span', {}, when, el(doc, 'span', { className: 'muted block', text: `from ${token.lastUsedFrom}` }));
}

function userCell(token, doc) {
  const name = token.userDisplayName || token.userId || '';
  if (!token.userDisplayName || token.userDisplayName === token.userId) return name;
  return el(doc, 'span', {}, name, el(doc, 'span', { className: 'muted block', text: token.userId }));
}

// The name, and under it the token's scopes (or "full access"), compact:
// the all-users table has no width for a column of its own.
function nameCell(token, doc) {
  return el(doc, 'span', {},
    el(doc, 'span', { testid: 'token-name', text: token.name || '' }),
    el(doc, 'span', { className: 'block scopes' },
      el(doc, 'span', { className: 'visually-hidden', text: 'Scopes: ' }),
      renderScopes(doc, token.scopes, { testid: 'token-scopes' })));
}

// The date, and beside it (below, in a narrow column) "expires in N days"
// when the token is ACTIVE and that near its expiry: text, not a colour
// alone.
function expiryCell(token, doc, warning) {
  const date = el(doc, 'span', { className: 'nowrap', testid: 'token-expiry', text: token.expiresOn || '' });
  const days = expiryWarningDays(token, warning);
  if (!days) return date;
  const [words, count] = expiresInParts(days);
  return el(doc, 'span', { className: 'expiry' }, date,
    el(doc, 'span', { className: 'badge badge-expiring', testid: 'expiry-badge' },
      el(doc, 'span', { className: 'nowrap', text: words }), ' ', el(doc, 'span', { className: 'nowrap', text: count })));
}

// The token tables of the Profile page and of Access Control -> User Tokens.
// actions: {onRotate(token, button), onRevoke(token, button)}; only ACTIVE
// tokens can be rotated or revoked from the table. warning: {today
// (YYYY-MM-DD, UTC), threshold (days)}: an ACTIVE token with at most
// `threshold` days left has a badge (dates.js expiryWarningDays).
export function renderTokenTable(doc, tokens, {
  showUser = false, onRotate, onRevoke,
  warning = { today: utcDate(Date.now()), threshold: DEFAULT_EXPIRY_WARNING_DAYS },
} = {}) {
  const columns = [
    { header: 'Name', className: 'cell-name', cell: nameCell },
    { header: 'Token', testid: 'token-hint', className: 'cell-mono', cell: (t) => t.hint || '' },
    showUser ? { header: 'User', testid: 'token-user', className: 'cell-user', cell: userCell } : null,
    { header: 'Created', testid: 'token-created', className: 'cell-instant', cell: (t, d) => instant(d, formatInstant(t.createdAt)) },
    { header: 'Last used', testid: 'token-last-used', className: 'cell-instant', cell: lastUsedCell },
    { header: 'Expiry', className: 'cell-date', cell: (t, d) => expiryCell(t, d, warning) },
    { header: 'Status', testid: 'token-status', cell: (t, d) => statusBadge(d, t.status) },
    {
      header: 'Actions', className: 'cell-actions', testid: 'token-actions',
      cell: (t, d) => (t.status === 'ACTIVE' ? tokenActions(d, t, { onRotate, onRevoke }) : ''),
    },
  ].filter(Boolean);
  return renderTable(doc, {
    columns,
    rows: tokens,
    testid: showUser ? 'all-tokens-table' : 'own-tokens-table',
    caption: showUser ? 'Every user\u2019s API tokens' : 'Your API tokens',
    empty: 'No tokens yet.',
    rowProps: (t) => ({ testid: 'token-row', attrs: { 'data-token-id': t.id, 'data-status': t.status } }),
  });
}

function tokenActions(doc, token, { onRotate, onRevoke }) {
  const rotate = el(doc, 'button', {
    className: 'btn btn-small', testid: 'token-rotate', text: 'Rotate',
    attrs: { type: 'button', 'aria-label': `Rotate ${token.name}` },
  });
  const revoke = el(doc, 'button', {
    className: 'btn btn-small btn-danger', testid: 'token-revoke', text: 'Revoke',
    attrs: { type: 'button', 'aria-label': `Revoke ${token.name}` },
  });
  if (onRotate) rotate.addEventListener('click', () => onRotate(token, rotate));
  if (onRevoke) revoke.addEventListener('click', () => onRevoke(token, revoke));
  return el(doc, 'span', { className: 'actions' }, rotate, revoke);
}

// Access Control -> Users. actions: {onChangeRole(user, role, select),
// onToggleDisabled(user, button)}; `selfId` is the caller, who cannot demote
// or disable themselves from here.
export function renderUserTable(doc, users, { selfId, onChangeRole, onToggleDisabled } = {}) {
  const columns = [
    { header: 'User ID', testid: 'user-id', className: 'cell-mono', cell: (u) => u.userId || '' },
    { header: 'Name', testid: 'user-name', className: 'cell-name', cell: (u) => u.displayName || '' },
    { header: 'Email', testid: 'user-email', cell: (u) => u.email || '' },
    { header: 'Role', testid: 'user-role', cell: (u, d) => roleCell(d, u, selfId, onChangeRole) },
    {
      header: 'Status', testid: 'user-status',
      cell: (u, d) => el(d, 'span', {
        className: u.disabled ? 'badge badge-revoked' : 'badge badge-active', text: u.disabled ? 'Disabled' : 'Enabled',
      }),
    },
    { header: 'Created', testid: 'user-created', className: 'cell-instant', cell: (u, d) => instant(d, formatInstant(u.createdAt)) },
    { header: 'Actions', className: 'cell-actions', testid: 'user-actions', cell: (u, d) => userActions(d, u, selfId, onToggleDisabled) },
  ];
  return renderTable(doc, {
    columns,
    rows: users,
    testid: 'users-table',
    caption: 'Users',
    empty: 'No users.',
    rowProps: (u) => ({ testid: 'user-row', attrs: { 'data-user-id': u.userId, 'data-disabled': u.disabled ? 'true' : 'false' } }),
  });
}

function roleCell(doc, user, selfId, onChangeRole) {
  if (user.userId === selfId || !onChangeRole) return roleLabel(user.role);
  const select = el(doc, 'select', {
    className: 'select select-small', testid: 'user-role-select',
    attrs: { 'aria-label': `Role of ${user.userId}` },
  }, ['USER', 'ADMIN', 'SERVICE'].map((r) => el(doc, 'option', { attrs: { value: r, selected: r === user.role }, text: roleLabel(r) })));
  select.addEventListener('change', () => onChangeRole(user, select.value, select));
  return select;
}

function userActions(doc, user, selfId, onToggleDisabled) {
  if (user.userId === selfId || !onToggleDisabled) return '';
  const button = el(doc, 'button', {
    className: user.disabled ? 'btn btn-small' : 'btn btn-small btn-danger',
    testid: user.disabled ? 'user-enable' : 'user-disable',
    text: user.disabled ? 'Enable' : 'Disable',
    attrs: { type: 'button', 'aria-label': `${user.disabled ? 'Enable' : 'Disable'} ${user.userId}` },
  });
  button.addEventListener('click', () => onToggleDisabled(user, button));
  return button;
}
