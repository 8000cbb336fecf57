// Modal dialogs on the native <dialog> element: showModal() keeps focus
// inside and Escape closes it; on close the dialog leaves the DOM and focus
// goes back to the element that opened it.

import { el } from './dom.js';
import { assignViolations, checkboxGroup, field, sentence } from './form.js';
import { checkExpiry } from './dates.js';
import { FULL_ACCESS, roleLabel } from './format.js';
import { checkScopes, renderScopes, scopeOptions, scopesHint } from './scopes.js';

let nextTitleId = 0;

// The shell of every dialog. Returns {dialog, close()}.
export function openDialog(doc, { title, testid, body, footer, opener, onClose, wide = false }) {
  nextTitleId += 1;
  const titleId = `dialog-title-${nextTitleId}`;
  const dialog = el(doc, 'dialog', {
    className: wide ? 'dialog dialog-wide' : 'dialog', testid, attrs: { 'aria-labelledby': titleId },
  },
  el(doc, 'h2', { className: 'dialog-title', attrs: { id: titleId }, text: title }),
  body,
  footer ? el(doc, 'div', { className: 'dialog-footer' }, footer) : null);
  dialog.addEventListener('close', () => {
    if (onClose) onClose();
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  doc.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

function button(doc, text, { testid, primary = false, danger = false, type = 'button' } = {}) {
  const className = ['btn', primary ? 'btn-primary' : '', danger ? 'btn-danger-solid' : ''].filter(Boolean).join(' ');
  return el(doc, 'button', { className, testid, text, attrs: { type } });
}

// Resolves true when confirmed, false when cancelled (also by Escape).
export function confirmDialog(doc, { title, message, confirmLabel, danger = false, opener }) {
  return new Promise((resolve) => {
    let confirmed = false;
    const cancel = button(doc, 'Cancel', { testid: 'confirm-cancel' });
    const ok = button(doc, confirmLabel, { testid: 'confirm-ok', primary: !danger, danger });
    const { close } = openDialog(doc, {
      title, testid: 'confirm-dialog', opener,
      body: el(doc, 'p', { className: 'dialog-text', testid: 'confirm-message', text: message }),
      footer: [cancel, ok],
      onClose: () => resolve(confirmed),
    });
    cancel.addEventListener('click', close);
    ok.addEventListener('click', () => { confirmed = true; close(); });
    cancel.focus();
  });
}

// Shows a server error that belongs to no field, or clears it.
function formError(doc, testid) {
  const node = el(doc, 'p', { className: 'form-error', testid, attrs: { role: 'alert', hidden: true } });
  return {
    node,
    set(text) { node.textContent = text || ''; node.hidden = !text; },
  };
}

// A form inside a dialog whose submit calls `submit(values)`; field
// violations of an INVALID_ARGUMENT (or ALREADY_EXISTS) answer go under
// their fields, every other error above the buttons. Errors that end the
// session are passed to `onFatal`. While a call is in flight Escape does not
// close the dialog, so an answer cannot arrive to a dialog that is gone.
function formDialog(doc, { title, testid, fields, submitLabel, opener, read, validate, submit, onDone, onFatal }) {
  const general = formError(doc, `${testid}-error`);
  const cancel = button(doc, 'Cancel', { testid: `${testid}-cancel` });
  const ok = button(doc, submitLabel, { testid: `${testid}-submit`, primary: true, type: 'submit' });
  const form = el(doc, 'form', { className: 'form', attrs: { novalidate: true } },
    Object.values(fields).map((f) => f.node), general.node,
    el(doc, 'div', { className: 'dialog-footer' }, cancel, ok));
  let busy = false;
  const { dialog, close } = openDialog(doc, { title, testid: `${testid}-dialog`, body: form, opener });
  dialog.addEventListener('cancel', (e) => { if (busy) e.preventDefault(); });
  cancel.addEventListener('click', () => { if (!busy) close(); });

  const showErrors = (byField, rest) => {
    for (const [name, f] of Object.entries(fields)) f.setError((byField[name] || []).map(sentence).join(' '));
    general.set(rest.join(' '));
    const first = Object.entries(fields).find(([name]) => byField[name]);
    if (first) first[1].input.focus();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const values = read();
    const local = validate ? validate(values) : {};
    showErrors(local, []);
    if (Object.keys(local).length > 0) return;
    busy = true;
    ok.disabled = true;
    ok.setAttribute('aria-busy', 'true');
    try {
      const result = await submit(values);
      busy = false;
      close();
      onDone(result);
    } catch (err) {
      busy = false;
      ok.disabled = false;
      ok.removeAttribute('aria-busy');
      if (err && err.code === 'unauthenticated') {
        close();
        onFatal(err);
        return;
      }
      // Violations of the form's fields go under them; the message (which
      // names the field too) stands alone when none of them matched.
      const { byField, rest } = assignViolations(err && err.fieldViolations, Object.keys(fields));
      const matched = Object.keys(byField).length > 0;
      showErrors(byField, matched ? rest : [(err && err.message) || 'Something went wrong.']);
    }
  });
  return { dialog, fields };
}

// Create API Token: Name, Expiry Date, for admins creating a token for
// someone else the owner's user id, and one checkbox per scope of the
// catalogue (none checked; no section when the catalogue is empty).
// `bounds` = {min, max} of the date picker; `catalogue` = ListScopes' names;
// `tokenScopes` = the signed-in token's (GetProfile's), which limit the
// choice (scopes.js). `onCreated({token, secret})` runs once the server
// created it.
export function createTokenDialog(doc, {
  bounds, withOwner = false, catalogue = [], tokenScopes = [], opener, submit, onCreated, onFatal,
}) {
  const name = field(doc, {
    label: 'Token Name', testid: 'create-token-name',
    input: el(doc, 'input', { className: 'input', attrs: { type: 'text', name: 'name', autocomplete: 'off', required: true, spellcheck: 'false' } }),
  });
  const expiry = field(doc, {
    label: 'Expiry Date', testid: 'create-token-expiry',
    hint: bounds.max >= bounds.min
      ? `The token stops working at 00:00 UTC on this date: ${bounds.min} to ${bounds.max}.`
      : 'No expiry date is possible: the token you are signed in with expires too soon.',
    input: el(doc, 'input', { className: 'input', attrs: { type: 'date', name: 'expires_on', required: true, min: bounds.min, max: bounds.max } }),
  });
  const fields = { name, expires_on: expiry };
  if (withOwner) {
    fields.user_id = field(doc, {
      label: 'User ID (optional)', testid: 'create-token-owner',
      hint: 'Leave empty to create the token for yourself.',
      input: el(doc, 'input', { className: 'input', attrs: { type: 'text', name: 'user_id', autocomplete: 'off', spellcheck: 'false' } }),
    });
  }
  if (catalogue.length > 0) {
    fields.scopes = checkboxGroup(doc, {
      legend: 'Scopes', testid: 'create-token-scopes',
      options: scopeOptions(catalogue, tokenScopes),
      hint: scopesHint(tokenScopes),
    });
  }
  const result = formDialog(doc, {
    title: 'Create API Token', testid: 'create-token', fields, submitLabel: 'Create', opener,
    read: () => ({
      name: name.input.value,
      expiresOn: expiry.input.value,
      userId: withOwner ? fields.user_id.input.value : '',
      scopes: fields.scopes ? fields.scopes.values() : [],
    }),
    validate: (v) => {
      const errors = {};
      if (!v.name.trim()) errors.name = ['Enter a name for the token.'];
      const dateError = checkExpiry(v.expiresOn, bounds);
      if (dateError) errors.expires_on = [dateError];
      // Without the section (an empty catalogue) there is nothing to choose:
      // the server's answer says what it thinks.
      const scopesError = fields.scopes ? checkScopes(v.scopes, tokenScopes) : '';
      if (scopesError) errors.scopes = [scopesError];
      return errors;
    },
    submit,
    onDone: onCreated,
    onFatal,
  });
  name.input.focus();
  return result;
}

// "Scopes: a b" or "Scopes: none, full access" for the secret dialog.
function scopesLine(doc, scopes) {
  return el(doc, 'p', { className: 'dialog-text' }, 'Scopes: ',
    renderScopes(doc, scopes, { testid: 'secret-token-scopes', none: `none, ${FULL_ACCESS}` }));
}

// The one-time secret: a read-only field, Copy, and the warning, with the
// token's name and scopes. On close the field is emptied and the dialog
// removed, so the secret is nowhere in the page afterwards; nothing else
// here keeps it.
export function secretDialog(doc, { secret, tokenName, scopes = [], opener, clipboard, title = 'Token Created' }) {
  const input = el(doc, 'input', {
    className: 'input input-mono secret', testid: 'secret-value',
    attrs: { type: 'text', readonly: true, 'aria-label': 'New token', autocomplete: 'off', spellcheck: 'false' },
  });
  input.value = secret;
  const status = el(doc, 'span', { className: 'copy-status', testid: 'secret-copied', attrs: { role: 'status' } });
  const copy = button(doc, 'Copy', { testid: 'secret-copy', primary: true });
  copy.setAttribute('aria-label', 'Copy the token');
  const closeButton = button(doc, 'Close', { testid: 'secret-close' });
  const body = el(doc, 'div', {},
    el(doc, 'p', { className: 'dialog-text' }, 'The new token ', el(doc, 'strong', { testid: 'secret-token-name', text: tokenName }), ' is ready.'),
    scopesLine(doc, scopes),
    el(doc, 'p', { className: 'warning', testid: 'secret-warning', attrs: { role: 'note' } },
      'This token will not be shown again. Copy it now and keep it somewhere safe.'),
    el(doc, 'div', { className: 'copy-row' }, input, copy),
    status);
  const { dialog, close } = openDialog(doc, {
    title, testid: 'secret-dialog', body, footer: [closeButton], opener, wide: true,
    onClose: () => { input.value = ''; },
  });
  copy.addEventListener('click', async () => {
    try {
      await clipboard.writeText(input.value);
      status.textContent = 'Copied to the clipboard.';
    } catch {
      input.select();
      status.textContent = 'Could not copy: the token is selected, press Ctrl+C (\u2318C on a Mac).';
    }
  });
  closeButton.addEventListener('click', close);
  input.addEventListener('focus', () => input.select());
  copy.focus();
  return { dialog, close };
}

// Create user: user id, display name, email, role.
export function createUserDialog(doc, { opener, submit, onCreated, onFatal }) {
  const text = (name, type = 'text') => el(doc, 'input', { className: 'input', attrs: { type, name, autocomplete: 'off', spellcheck: 'false' } });
  const fields = {
    user_id: field(doc, { label: 'User ID', testid: 'create-user-id', input: text('user_id'), hint: 'Letters a-z, digits and . _ @ -; cannot be changed later.' }),
    display_name: field(doc, { label: 'Display name', testid: 'create-user-name', input: text('display_name') }),
    email: field(doc, { label: 'Email (optional)', testid: 'create-user-email', input: text('email', 'email') }),
    role: field(doc, {
      label: 'Role', testid: 'create-user-role',
      input: el(doc, 'select', { className: 'select', attrs: { name: 'role' } },
        ['USER', 'ADMIN', 'SERVICE'].map((r) => el(doc, 'option', { attrs: { value: r }, text: roleLabel(r) }))),
    }),
  };
  const result = formDialog(doc, {
    title: 'Create User', testid: 'create-user', fields, submitLabel: 'Create', opener,
    read: () => ({
      userId: fields.user_id.input.value,
      displayName: fields.display_name.input.value,
      email: fields.email.input.value.trim(),
      role: fields.role.input.value,
    }),
    validate: (v) => (v.userId.trim() ? {} : { user_id: ['Enter a user ID.'] }),
    submit,
    onDone: onCreated,
    onFatal,
  });
  fields.user_id.input.focus();
  return result;
}
