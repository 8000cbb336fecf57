// Access Control -> Users: create users, change a role, disable or enable
// (UpdateUser with an update mask). The caller's own row has no controls:
// an admin cannot lock themselves out from here.

import { confirmDialog, createUserDialog } from '../dialogs.js';
import { el, replaceChildren } from '../dom.js';
import { roleLabel } from '../format.js';
import { PageCursor, renderPager } from '../paging.js';
import { renderUserTable } from '../table.js';
import { accessControlHeader } from './access-control.js';

export function renderAdminUsers(ctx) {
  const { doc } = ctx;
  const cursor = new PageCursor();
  const holder = el(doc, 'div', { className: 'table-holder', attrs: { 'aria-live': 'polite' } });
  let generation = 0;

  async function update(user, changes, { title, message, confirmLabel, danger, opener }) {
    const ok = await confirmDialog(doc, { title, message, confirmLabel, danger, opener });
    if (!ok) { load(); return; }
    try {
      await ctx.api.updateUser(user.userId, changes);
      ctx.notify(`User \u201c${user.userId}\u201d updated.`);
    } catch (err) {
      ctx.fail(err);
      if (err.code === 'unauthenticated') return;
    }
    load();
  }

  const actions = {
    selfId: ctx.profile.userId,
    onChangeRole: (user, role, select) => update(user, { role }, {
      title: 'Change role',
      message: `Change the role of \u201c${user.userId}\u201d from ${roleLabel(user.role)} to ${roleLabel(role)}?`,
      confirmLabel: 'Change role',
      opener: select,
    }),
    onToggleDisabled: (user, button) => update(user, { disabled: !user.disabled }, user.disabled
      ? {
        title: 'Enable user',
        message: `Enable \u201c${user.userId}\u201d? Their tokens that have not expired or been revoked work again.`,
        confirmLabel: 'Enable',
        opener: button,
      }
      : {
        title: 'Disable user',
        message: `Disable \u201c${user.userId}\u201d? They cannot sign in and all their tokens stop working at once.`,
        confirmLabel: 'Disable',
        danger: true,
        opener: button,
      }),
  };

  async function load() {
    generation += 1;
    const mine = generation;
    try {
      const answer = await ctx.api.listUsers({ pageSize: 50, pageToken: cursor.current });
      if (mine !== generation || !holder.isConnected) return;
      cursor.loaded(answer.nextPageToken);
      replaceChildren(doc, holder,
        renderUserTable(doc, answer.users || [], actions),
        renderPager(doc, cursor, {
          testid: 'users-pager',
          onPrevious: () => { if (cursor.back()) load(); },
          onNext: () => { if (cursor.forward()) load(); },
        }));
    } catch (err) {
      if (mine === generation) ctx.fail(err);
    }
  }

  const add = el(doc, 'button', { className: 'btn btn-primary', testid: 'add-user', text: 'Create User', attrs: { type: 'button' } });
  add.addEventListener('click', () => createUserDialog(doc, {
    opener: add,
    submit: (values) => ctx.api.createUser(values),
    onCreated: (user) => { ctx.notify(`User \u201c${user.userId}\u201d created.`); cursor.reset(); load(); },
    onFatal: ctx.fail,
  }));

  const view = el(doc, 'div', { className: 'page', testid: 'admin-users-view' },
    accessControlHeader(ctx, 'adminUsers'),
    el(doc, 'section', { className: 'card', attrs: { 'aria-labelledby': 'users-title' } },
      el(doc, 'div', { className: 'card-header' },
        el(doc, 'h2', { className: 'card-title', attrs: { id: 'users-title' }, text: 'Users' }),
        add),
      holder));
  load();
  return { view, focus: () => {} };
}
