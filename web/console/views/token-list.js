// A token table with its pager, loading one page at a time: the Profile
// page's own tokens and the admins' all-users table both use it.

import { el, replaceChildren } from '../dom.js';
import { PageCursor, renderPager } from '../paging.js';
import { renderTokenTable } from '../table.js';
import { tokenActions } from '../token-actions.js';

// filters() gives the ListTokens filters of the moment; onError(err) is
// told about a failed load (and may return true when it showed the error
// itself, e.g. under a filter field).
export function tokenList(ctx, { showUser, filters = () => ({}), onError, pageSize = 25 }) {
  const { doc } = ctx;
  const cursor = new PageCursor();
  const holder = el(doc, 'div', { className: 'table-holder', attrs: { 'aria-live': 'polite', 'aria-busy': 'false' } });
  const actions = tokenActions(ctx, () => load());
  let generation = 0;

  async function load() {
    generation += 1;
    const mine = generation;
    holder.setAttribute('aria-busy', 'true');
    try {
      const answer = await ctx.api.listTokens({ pageSize, ...filters(), pageToken: cursor.current });
      if (mine !== generation || !holder.isConnected) return;
      const tokens = answer.tokens || [];
      cursor.loaded(answer.nextPageToken);
      replaceChildren(doc, holder,
        renderTokenTable(doc, tokens, { showUser, warning: ctx.expiryWarning(), ...actions }),
        renderPager(doc, cursor, {
          testid: showUser ? 'all-tokens-pager' : 'own-tokens-pager',
          onPrevious: () => { if (cursor.back()) load(); },
          onNext: () => { if (cursor.forward()) load(); },
        }));
    } catch (err) {
      if (mine !== generation) return;
      if (!(onError && onError(err))) ctx.fail(err);
    } finally {
      if (mine === generation) holder.setAttribute('aria-busy', 'false');
    }
  }

  return {
    node: holder,
    load,
    // From the first page again (new filters, a new token).
    reset() { cursor.reset(); return load(); },
  };
}
