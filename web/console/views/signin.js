// Sign in by pasting a token. The token goes to sessionStorage and is
// checked with GetProfile; a token the server refuses is removed again.

import { el } from '../dom.js';
import { field } from '../form.js';
import { normalizeToken } from '../session.js';

export function renderSignIn(ctx, { message = '', onSignedIn }) {
  const { doc } = ctx;
  const token = field(doc, {
    label: 'API token', testid: 'signin-token',
    hint: 'Kept in this browser tab only, and removed when you sign out or close the tab.',
    input: el(doc, 'input', { className: 'input input-mono', attrs: { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true } }),
  });
  const error = el(doc, 'p', { className: 'form-error', testid: 'signin-error', attrs: { role: 'alert', hidden: !message }, text: message });
  const submit = el(doc, 'button', { className: 'btn btn-primary btn-block', testid: 'signin-submit', text: 'Sign in', attrs: { type: 'submit' } });
  const form = el(doc, 'form', { className: 'form', testid: 'signin-form', attrs: { novalidate: true } }, token.node, error, submit);

  const showError = (text) => { error.textContent = text; error.hidden = !text; };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = normalizeToken(token.input.value);
    if (!value) {
      showError('Paste your API token.');
      token.input.focus();
      return;
    }
    submit.disabled = true;
    showError('');
    ctx.session.signIn(value);
    try {
      const profile = await ctx.api.getProfile();
      token.input.value = '';
      onSignedIn(profile);
    } catch (err) {
      ctx.session.signOut();
      submit.disabled = false;
      showError(err.code === 'unauthenticated' ? `Sign-in failed: ${err.message}` : err.message);
      token.input.focus();
    }
  });

  const view = el(doc, 'main', { className: 'signin', testid: 'signin-view' },
    el(doc, 'div', { className: 'card signin-card' },
      el(doc, 'div', { className: 'brand brand-large' }, el(doc, 'span', { className: 'brand-mark', attrs: { 'aria-hidden': 'true' }, text: 'UT' }), 'User Tokens'),
      el(doc, 'h1', { className: 'signin-title', text: 'Sign in' }),
      el(doc, 'p', { className: 'muted', text: 'Paste an API token to manage your tokens.' }),
      form));
  return { view, focus: () => token.input.focus() };
}
