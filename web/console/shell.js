// The frame around every signed-in screen: the top bar with the profile
// menu on the right, the left navigation (Access Control for admins only),
// and the main area with its message banners.

import { el } from './dom.js';
import { initials, roleLabel } from './format.js';
import { ROUTES } from './router.js';

function profileMenu(ctx, { onSignOut }) {
  const { doc, profile } = ctx;
  const button = el(doc, 'button', {
    className: 'avatar', testid: 'profile-menu-button',
    text: initials(profile.displayName, initials(profile.userId)),
    attrs: { type: 'button', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-controls': 'profile-menu', 'aria-label': `Account menu of ${profile.displayName || profile.userId}` },
  });
  const profileLink = el(doc, 'a', { className: 'menu-item', testid: 'profile-menu-profile', text: 'Profile', attrs: { href: ROUTES.profile } });
  const signOut = el(doc, 'button', { className: 'menu-item', testid: 'sign-out', text: 'Sign out', attrs: { type: 'button' } });
  const menu = el(doc, 'div', { className: 'menu', testid: 'profile-menu', attrs: { id: 'profile-menu', hidden: true } },
    el(doc, 'div', { className: 'menu-head' },
      el(doc, 'div', { className: 'menu-name', testid: 'profile-menu-name', text: profile.displayName || profile.userId }),
      el(doc, 'div', { className: 'menu-role', testid: 'profile-menu-role', text: roleLabel(profile.role) })),
    profileLink, signOut);
  const wrap = el(doc, 'div', { className: 'menu-wrap' }, button, menu);

  const setOpen = (open) => {
    menu.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => {
    setOpen(menu.hidden);
    if (!menu.hidden) profileLink.focus();
  });
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !menu.hidden) { setOpen(false); button.focus(); }
  });
  wrap.addEventListener('focusout', (e) => {
    if (!e.relatedTarget || !wrap.contains(e.relatedTarget)) setOpen(false);
  });
  const outside = (e) => {
    if (!wrap.isConnected) { doc.removeEventListener('click', outside); return; }
    if (!wrap.contains(e.target)) setOpen(false);
  };
  doc.addEventListener('click', outside);
  profileLink.addEventListener('click', () => setOpen(false));
  signOut.addEventListener('click', () => { setOpen(false); onSignOut(); });
  return wrap;
}

function navLink(doc, route, label, testid) {
  return el(doc, 'li', {}, el(doc, 'a', { className: 'nav-link', testid, text: label, attrs: { href: ROUTES[route], 'data-route': route } }));
}

function sideNav(ctx) {
  const { doc, profile } = ctx;
  return el(doc, 'nav', { className: 'sidenav', testid: 'side-nav', attrs: { 'aria-label': 'Main' } },
    el(doc, 'div', { className: 'nav-group' },
      el(doc, 'p', { className: 'nav-heading', text: 'Account' }),
      el(doc, 'ul', {}, navLink(doc, 'profile', 'Profile', 'nav-profile'))),
    profile.role === 'ADMIN'
      ? el(doc, 'div', { className: 'nav-group', testid: 'nav-admin' },
        el(doc, 'p', { className: 'nav-heading', text: 'Access Control' }),
        el(doc, 'ul', {},
          navLink(doc, 'adminTokens', 'User Tokens', 'nav-admin-tokens'),
          navLink(doc, 'adminUsers', 'Users', 'nav-admin-users')))
      : null);
}

// Returns {root, view (where screens go), setRoute(route), error(text),
// notice(text)}.
export function renderShell(ctx, { onSignOut }) {
  const { doc } = ctx;
  const error = el(doc, 'div', { className: 'banner banner-error', testid: 'page-error', attrs: { role: 'alert', hidden: true } });
  const notice = el(doc, 'div', { className: 'banner banner-notice', testid: 'page-notice', attrs: { role: 'status', hidden: true } });
  const view = el(doc, 'div', { className: 'view' });
  const nav = sideNav(ctx);
  const root = el(doc, 'div', { className: 'shell', testid: 'app-shell' },
    el(doc, 'header', { className: 'topbar' },
      el(doc, 'a', { className: 'brand', attrs: { href: ROUTES.profile } },
        el(doc, 'span', { className: 'brand-mark', attrs: { 'aria-hidden': 'true' }, text: 'UT' }), 'User Tokens'),
      profileMenu(ctx, { onSignOut })),
    el(doc, 'div', { className: 'body' },
      nav,
      el(doc, 'main', { className: 'main', attrs: { id: 'main', tabindex: '-1' } }, error, notice, view)));
  const show = (node, text) => { node.textContent = text || ''; node.hidden = !text; };
  return {
    root,
    view,
    setRoute(route) {
      for (const link of nav.querySelectorAll('a[data-route]')) {
        if (link.getAttribute('data-route') === route) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
    },
    error: (text) => { show(error, text); if (text) show(notice, ''); },
    notice: (text) => { show(notice, text); if (text) show(error, ''); },
  };
}
