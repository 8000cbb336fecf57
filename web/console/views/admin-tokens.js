// Access Control -> User Tokens: every user's tokens, filtered as
// ListTokens can (one user, status, name contains, expires before), a page
// at a time; admins can also create a token for another user here.

import { el } from '../dom.js';
import { assignViolations, field, sentence } from '../form.js';
import { statusLabel, TOKEN_STATUSES } from '../format.js';
import { openCreateToken } from '../token-actions.js';
import { accessControlHeader } from './access-control.js';
import { tokenList } from './token-list.js';

const PAGE_SIZES = [10, 25, 50, 100];

function filterForm(ctx, onApply) {
  const { doc } = ctx;
  const input = (name, type = 'text') => el(doc, 'input', { className: 'input', attrs: { type, name, autocomplete: 'off', spellcheck: 'false' } });
  const fields = {
    user_id: field(doc, { label: 'User ID', testid: 'filter-user', input: input('user_id') }),
    status: field(doc, {
      label: 'Status', testid: 'filter-status',
      input: el(doc, 'select', { className: 'select', attrs: { name: 'status' } },
        el(doc, 'option', { attrs: { value: '' }, text: 'All' }),
        TOKEN_STATUSES.map((s) => el(doc, 'option', { attrs: { value: s }, text: statusLabel(s) }))),
    }),
    name_contains: field(doc, { label: 'Name contains', testid: 'filter-name', input: input('name_contains', 'search') }),
    expires_before: field(doc, { label: 'Expires before', testid: 'filter-expires-before', input: input('expires_before', 'date') }),
    page_size: field(doc, {
      label: 'Per page', testid: 'filter-page-size',
      input: el(doc, 'select', { className: 'select', attrs: { name: 'page_size' } },
        PAGE_SIZES.map((n) => el(doc, 'option', { attrs: { value: n, selected: n === 25 }, text: String(n) }))),
    }),
  };
  const apply = el(doc, 'button', { className: 'btn btn-primary', testid: 'filter-apply', text: 'Apply', attrs: { type: 'submit' } });
  const reset = el(doc, 'button', { className: 'btn', testid: 'filter-reset', text: 'Reset', attrs: { type: 'reset' } });
  const form = el(doc, 'form', { className: 'filters', testid: 'token-filters', attrs: { novalidate: true, role: 'search', 'aria-label': 'Filter tokens' } },
    Object.values(fields).map((f) => f.node),
    el(doc, 'div', { className: 'filters-buttons' }, apply, reset));

  const values = () => ({
    userId: fields.user_id.input.value.trim(),
    status: fields.status.input.value,
    nameContains: fields.name_contains.input.value,
    expiresBefore: fields.expires_before.input.value,
    pageSize: Number(fields.page_size.input.value),
  });
  const clearErrors = () => Object.values(fields).forEach((f) => f.setError(''));
  form.addEventListener('submit', (e) => { e.preventDefault(); clearErrors(); onApply(); });
  // The reset event fires before the inputs are reset.
  form.addEventListener('reset', () => setTimeout(() => { clearErrors(); onApply(); }, 0));
  // Field violations of ListTokens go under the filter they name.
  const showViolations = (err) => {
    const { byField } = assignViolations(err.fieldViolations, Object.keys(fields));
    if (Object.keys(byField).length === 0) return false;
    for (const [name, f] of Object.entries(fields)) f.setError((byField[name] || []).map(sentence).join(' '));
    return true;
  };
  return { form, values, showViolations };
}

export function renderAdminTokens(ctx) {
  const { doc } = ctx;
  let filters = null;
  const list = tokenList(ctx, {
    showUser: true,
    filters: () => {
      const f = filters.values();
      return { ...f, allUsers: !f.userId, status: f.status || undefined };
    },
    onError: (err) => err.code === 'invalid_argument' && filters.showViolations(err),
  });
  filters = filterForm(ctx, () => list.reset());

  const add = el(doc, 'button', { className: 'btn btn-primary', testid: 'admin-add-token', text: 'Create Token', attrs: { type: 'button' } });
  add.addEventListener('click', () => openCreateToken(ctx, { opener: add, withOwner: true, reload: () => list.reset() }));

  const view = el(doc, 'div', { className: 'page', testid: 'admin-tokens-view' },
    accessControlHeader(ctx, 'adminTokens'),
    el(doc, 'section', { className: 'card', attrs: { 'aria-labelledby': 'all-tokens-title' } },
      el(doc, 'div', { className: 'card-header' },
        el(doc, 'h2', { className: 'card-title', attrs: { id: 'all-tokens-title' }, text: 'User Tokens' }),
        add),
      filters.form,
      list.node));
  list.load();
  return { view, focus: () => {} };
}
