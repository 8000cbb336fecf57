// Profile: the caller's User Info and own API Tokens, with Create Token.

import { el } from '../dom.js';
import { roleLabel } from '../format.js';
import { openCreateToken } from '../token-actions.js';
import { tokenList } from './token-list.js';

function info(doc, label, value, testid) {
  return el(doc, 'div', { className: 'info-row' },
    el(doc, 'dt', { text: label }),
    el(doc, 'dd', { testid, text: value || '\u2014' }));
}

export function renderProfile(ctx) {
  const { doc, profile } = ctx;
  const list = tokenList(ctx, { showUser: false });
  const add = el(doc, 'button', { className: 'btn btn-primary', testid: 'add-token', text: 'Create Token', attrs: { type: 'button' } });
  add.addEventListener('click', () => openCreateToken(ctx, { opener: add, reload: () => list.reset() }));

  const view = el(doc, 'div', { className: 'page', testid: 'profile-view' },
    el(doc, 'header', { className: 'page-header' }, el(doc, 'h1', { text: 'Profile' })),
    el(doc, 'section', { className: 'card', attrs: { 'aria-labelledby': 'user-info-title' } },
      el(doc, 'h2', { className: 'card-title', attrs: { id: 'user-info-title' }, text: 'User Info' }),
      el(doc, 'dl', { className: 'info' },
        info(doc, 'Name', profile.displayName, 'profile-name'),
        info(doc, 'User ID', profile.userId, 'profile-user-id'),
        info(doc, 'Email', profile.email, 'profile-email'),
        info(doc, 'Role', roleLabel(profile.role), 'profile-role'))),
    el(doc, 'section', { className: 'card', attrs: { 'aria-labelledby': 'own-tokens-title' } },
      el(doc, 'div', { className: 'card-header' },
        el(doc, 'h2', { className: 'card-title', attrs: { id: 'own-tokens-title' }, text: 'API Tokens' }),
        add),
      list.node));
  list.load();
  return { view, focus: () => {} };
}
