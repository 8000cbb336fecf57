// Token scopes in the console: which of the operator's catalogue
// (ListScopes) the Create API Token dialog offers, whether a choice can be
// sent, and how a token's scopes are shown. The server decides (DESIGN.md
// §7); these rules only keep the form from offering what it would refuse.
//
// A token that names no scope has its user's full access. A token that
// names scopes (GetProfile's tokenScopes, when the console is signed in
// with one) creates only tokens whose scopes it holds itself, so never one
// without scopes.

import { el } from './dom.js';
import { FULL_ACCESS } from './format.js';

export const NOT_HELD_REASON = 'The token you are signed in with does not have this scope.';

// One option per catalogue name, in the catalogue's order:
// [{name, disabled, reason}]. `tokenScopes` empty: every one can be chosen.
export function scopeOptions(catalogue, tokenScopes = []) {
  const held = new Set(tokenScopes || []);
  const limited = held.size > 0;
  return (catalogue || []).map((name) => {
    const disabled = limited && !held.has(name);
    return { name, disabled, reason: disabled ? NOT_HELD_REASON : '' };
  });
}

// The line under the checkboxes.
export function scopesHint(tokenScopes = []) {
  const all = 'A token without scopes has your full access.';
  if (!tokenScopes || tokenScopes.length === 0) return `${all} Choose scopes to let it do only that.`;
  return `${all} The token you are signed in with has scopes, so the new one must have at least one of them.`;
}

// A message when `chosen` cannot be sent, or '' when it can: a scoped
// signed-in token must choose at least one scope, and only its own.
export function checkScopes(chosen, tokenScopes = []) {
  if (!tokenScopes || tokenScopes.length === 0) return '';
  if (!chosen || chosen.length === 0) return 'Choose at least one scope.';
  const held = new Set(tokenScopes);
  const extra = chosen.filter((s) => !held.has(s));
  if (extra.length > 0) return `The token you are signed in with does not have ${extra.join(', ')}.`;
  return '';
}

// A token's scopes as text: each name in a <code>, space-separated, or
// `none` (muted) when it has none. `testid` is on the span that holds them.
export function renderScopes(doc, scopes, { testid, none = FULL_ACCESS }) {
  const list = Array.isArray(scopes) ? scopes : [];
  if (list.length === 0) return el(doc, 'span', { className: 'muted', testid, text: none });
  return el(doc, 'span', { testid }, list.flatMap((s, i) => [i > 0 ? ' ' : null, el(doc, 'code', { className: 'scope', text: s })]));
}
