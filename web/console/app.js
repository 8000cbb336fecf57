// The console's entry point: wires the session, the API client and the
// screens together, and decides what each kind of error does.

import { createApi } from './api.js';
import { DEFAULT_MAX_LIFETIME_DAYS, expiryBounds } from './dates.js';
import { replaceChildren } from './dom.js';
import { hintOf } from './format.js';
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
    // The expiry of the token the console is signed in with, once seen in
    // a token list (found by its hint): the server refuses to create a token
    // that outlives it, so the date picker stops there too.
    callerExpiresOn: '',
    // token-service's --max_token_lifetime_days; the API does not expose
    // it, so the console assumes the default.
    maxLifetimeDays: DEFAULT_MAX_LIFETIME_DAYS,
    expiryBounds: () => expiryBounds(Date.now(), ctx.maxLifetimeDays, ctx.callerExpiresOn),
    // Hints are not unique, but two of one user's tokens sharing one is
    // unlikely enough for a date picker's limit and a warning.
    isSessionToken(token) {
      const hint = hintOf(session.token());
      return Boolean(hint) && token.hint === hint && token.userId === ctx.profile.userId && token.status === 'ACTIVE';
    },
    learnTokens(tokens) {
      const mine = tokens.find((t) => ctx.isSessionToken(t));
      if (mine && mine.expiresOn) ctx.callerExpiresOn = mine.expiresOn;
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
    ctx.callerExpiresOn = '';
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
    shell = renderShell(ctx, { onSignOut: () => signOut('You have signed out.') });
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
