// The heading and tabs of the Access Control pages.

import { el } from '../dom.js';
import { ROUTES } from '../router.js';

const TABS = [
  { route: 'adminTokens', label: 'User Tokens', testid: 'tab-admin-tokens' },
  { route: 'adminUsers', label: 'Users', testid: 'tab-admin-users' },
];

export function accessControlHeader(ctx, current) {
  const { doc } = ctx;
  return el(doc, 'header', { className: 'page-header' },
    el(doc, 'h1', { text: 'Access Control' }),
    el(doc, 'nav', { className: 'tabs', attrs: { 'aria-label': 'Access Control' } },
      TABS.map((t) => el(doc, 'a', {
        className: t.route === current ? 'tab tab-current' : 'tab',
        testid: t.testid,
        text: t.label,
        attrs: { href: ROUTES[t.route], 'aria-current': t.route === current ? 'page' : undefined },
      }))));
}
