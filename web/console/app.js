// The console's entry point: wires the session, the API client and the
// screens together, and decides what each kind of error does.

import { createApi } from './api.js';
import { expiryBounds, utcDate, warningThreshold } from './dates.js';
import { replaceChildren } from './dom.js';
import { isAdminRoute, routeOf } from './router.js';
import { createSession } from './session.js';
import { renderShell } from './shell.js';
import { renderAdminTokens } from './views/admin-tokens.js';
import { renderAdminUsers } from './views/admin-users.js';
import { renderProfile } from './views/profile.js';
import { renderSignIn } from './views/signin.js';

const SCREENS = { profile: renderProfile, adminTokens: renderAdminTokens, adminUsers: renderAdminUsers };

export function startConsole(win) {
  const doc = win.document;
  const root = doc.getElementById('app');
  const session = createSession(win.sessionStorage);
  const api = createApi({ fetch: (url, init) => win.fetch(url, init), getToken: () => session.token() });
  let shell = null;

  const ctx = {
    doc,
    api,
    session,
    clipboard: win.navigator.clipboard,
    profile: null,
    // The server's bounds for this caller (GetProfile's latestExpiresOn:
    // its lifetime limit, and no later than the signed-in token).
    expiryBounds: () => expiryBounds(Date.now(), ctx.profile && ctx.profile.latestExpiresOn),
    // Which tokens get an "expires in N days" badge: today (UTC) and the
    // largest of GetProfile's expiryWarningDays (token-service's warning
    // thresholds).
    expiryWarning: () => ({ today: utcDate(Date.now()), threshold: warningThreshold(ctx.profile && ctx.profile.expiryWarningDays) }),
    // The token the console is signed in with (GetProfile's tokenId).
    isSessionToken(token) {
      return Boolean(ctx.profile && ctx.profile.tokenId) && token.id === ctx.profile.tokenId;
    },
    notify: (text) => { if (shell) shell.notice(text); },
    fail(err) {
      if (err && err.code === 'unauthenticated') {
        signOut(`You have been signed out: ${err.message}`);
        return;
      }
      const text = err && err.name === 'ApiError'
        ? (err.code === 'permission_denied' ? `Permission denied: ${err.message}` : err.message)
        : 'Something went wrong in the console. Reload the page and try again.';
      if (shell) shell.error(text);
      if (!(err && err.name === 'ApiError')) win.console.error(err);
    },
  };

  function showSignIn(message = '') {
    shell = null;
    ctx.profile = null;
    const { view, focus } = renderSignIn(ctx, { message, onSignedIn: enter });
    replaceChildren(doc, root, view);
    doc.title = 'Sign in \u2013 User Tokens';
    focus();
  }

  function signOut(message = '') {
    session.signOut();
    showSignIn(message);
  }

  function enter(profile) {
    ctx.profile = profile;
    shell = renderShell(ctx, {
      onSignOut: () => {
        // The next person to sign in here starts at their Profile, not on
        // the screen this one left (an admin's, say). A session that ended
        // by itself keeps its route, to come back to after signing in.
        if (win.location.hash) win.history.replaceState(null, '', win.location.pathname + win.location.search);
        signOut('You have signed out.');
      },
    });
    replaceChildren(doc, root, shell.root);
    showRoute();
  }

  function showRoute() {
    if (!shell) return;
    let route = routeOf(win.location.hash);
    shell.error('');
    shell.notice('');
    // The server refuses these calls to a non-admin anyway; say so without
    // asking it.
    const refused = isAdminRoute(route) && ctx.profile.role !== 'ADMIN';
    if (refused) route = 'profile';
    shell.setRoute(route);
    const { view } = SCREENS[route](ctx);
    replaceChildren(doc, shell.view, view);
    if (refused) shell.error('Permission denied: Access Control is for admins.');
    doc.title = `${{ profile: 'Profile', adminTokens: 'User Tokens', adminUsers: 'Users' }[route]} \u2013 User Tokens`;
  }

  win.addEventListener('hashchange', showRoute);

  if (!session.token()) {
    showSignIn();
    return;
  }
  api.getProfile().then(enter, (err) => {
    if (err.code === 'unauthenticated') signOut(`Sign in again: ${err.message}`);
    else showSignIn(err.message);
  });
}

startConsole(window);
