// What the token tables' buttons do: Create (the dialog, then the secret
// once), Rotate and Revoke (each after a confirmation). Shared by the
// Profile page and Access Control -> User Tokens.

import { confirmDialog, createTokenDialog, secretDialog } from './dialogs.js';

// The operator's catalogue of scopes (ListScopes); empty from a server
// that has no such method yet.
async function scopeCatalogue(api) {
  try {
    const answer = await api.listScopes();
    return Array.isArray(answer.scopes) ? answer.scopes : [];
  } catch (err) {
    if (err && err.code === 'unimplemented') return [];
    throw err;
  }
}

// Opens Create API Token, with the catalogue of the moment. `reload()`
// refreshes the table afterwards. A click while it is being fetched opens
// no second dialog.
export async function openCreateToken(ctx, { opener, withOwner = false, reload }) {
  if (opener.getAttribute('aria-busy') === 'true') return;
  opener.setAttribute('aria-busy', 'true');
  let catalogue;
  try {
    catalogue = await scopeCatalogue(ctx.api);
  } catch (err) {
    ctx.fail(err);
    return;
  } finally {
    opener.removeAttribute('aria-busy');
  }
  // The person went elsewhere meanwhile.
  if (!opener.isConnected) return;
  createTokenDialog(ctx.doc, {
    bounds: ctx.expiryBounds(),
    withOwner,
    catalogue,
    tokenScopes: (ctx.profile && ctx.profile.tokenScopes) || [],
    opener,
    submit: (values) => ctx.api.createToken(values),
    onCreated: (response) => {
      showSecretOnce(ctx, response, opener, 'Token Created');
      ctx.notify(`Token \u201c${response.token.name}\u201d created.`);
      reload();
    },
    onFatal: ctx.fail,
  });
}

// Hands the secret to its dialog and drops it from the response, so only
// the dialog's field holds it, until the dialog closes.
function showSecretOnce(ctx, response, opener, title) {
  const tokenName = response.token ? response.token.name : '';
  const scopes = response.token ? response.token.scopes : [];
  secretDialog(ctx.doc, { secret: response.secret, tokenName, scopes, opener, clipboard: ctx.clipboard, title });
  delete response.secret;
}

// A warning when the token is the one this console is signed in with.
function signedInWith(ctx, token) {
  return ctx.isSessionToken(token) ? ' You are signed in with this token: the console will sign you out.' : '';
}

export function tokenActions(ctx, reload) {
  return {
    async onRotate(token, button) {
      const ok = await confirmDialog(ctx.doc, {
        title: 'Rotate token',
        message: `Rotate \u201c${token.name}\u201d? A new secret replaces it, with the same name and expiry. ` +
          `The current secret stops working at once.${signedInWith(ctx, token)}`,
        confirmLabel: 'Rotate',
        opener: button,
      });
      if (!ok) return;
      try {
        const response = await ctx.api.rotateToken(token.id);
        showSecretOnce(ctx, response, button, 'Token Rotated');
        ctx.notify(`Token \u201c${token.name}\u201d rotated.`);
      } catch (err) {
        ctx.fail(err);
        if (err.code === 'unauthenticated') return;
      }
      reload();
    },
    async onRevoke(token, button) {
      const ok = await confirmDialog(ctx.doc, {
        title: 'Revoke token',
        message: `Revoke \u201c${token.name}\u201d? Anything that uses it stops working at once. This cannot be undone.${signedInWith(ctx, token)}`,
        confirmLabel: 'Revoke',
        danger: true,
        opener: button,
      });
      if (!ok) return;
      try {
        await ctx.api.revokeToken(token.id);
        ctx.notify(`Token \u201c${token.name}\u201d revoked.`);
      } catch (err) {
        ctx.fail(err);
        if (err.code === 'unauthenticated') return;
      }
      reload();
    },
  };
}
