// Form fields with a label, an optional hint and an error line tied to the
// input (aria-describedby, aria-invalid), and the routing of a server's
// google.rpc.BadRequest field violations to those fields.

import { el } from './dom.js';

let nextId = 0;

// field(doc, {label, input, testid, hint}) -> {node, input, setError(text)}
// `input` is an element already built; its id is set here. The error line's
// test id is `${testid}-error`.
export function field(doc, { label, input, testid, hint }) {
  nextId += 1;
  const id = `f${nextId}`;
  input.setAttribute('id', id);
  if (testid) input.setAttribute('data-testid', testid);
  const hintNode = hint ? el(doc, 'p', { className: 'field-hint', attrs: { id: `${id}-hint` }, text: hint }) : null;
  const error = el(doc, 'p', {
    className: 'field-error', attrs: { id: `${id}-error`, hidden: true }, testid: testid ? `${testid}-error` : undefined,
  });
  const describedBy = () => [hintNode ? `${id}-hint` : '', error.hidden ? '' : `${id}-error`].filter(Boolean).join(' ');
  const sync = () => {
    const ids = describedBy();
    if (ids) input.setAttribute('aria-describedby', ids); else input.removeAttribute('aria-describedby');
  };
  sync();
  return {
    node: el(doc, 'div', { className: 'field' }, el(doc, 'label', { className: 'label', attrs: { for: id }, text: label }), input, hintNode, error),
    input,
    setHint(text) { if (hintNode) hintNode.textContent = text; },
    setError(text) {
      error.textContent = text || '';
      error.hidden = !text;
      if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
      sync();
    },
  };
}

// "expiresOn", "expires_on", "user.display_name" -> "expires_on",
// "display_name": a violation names the request field in either spelling,
// and UpdateUser's fields sit inside `user`.
export function normalizeFieldPath(path) {
  return String(path || '')
    .replace(/^user\./, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

// Splits violations into those of known fields ({field: [descriptions]})
// and the rest (descriptions prefixed by the field they name).
export function assignViolations(violations, knownFields) {
  const byField = {};
  const rest = [];
  for (const v of violations || []) {
    const name = normalizeFieldPath(v.field);
    const text = v.description || 'is not valid';
    if (knownFields.includes(name)) {
      (byField[name] ||= []).push(text);
    } else {
      rest.push(v.field ? `${v.field}: ${text}` : text);
    }
  }
  return { byField, rest };
}

// A sentence for a description such as "must be after 2026-11-28".
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
