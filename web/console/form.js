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

// A group of checkboxes under one legend, e.g. the scopes of a new token:
// checkboxGroup(doc, {legend, testid, options: [{name, disabled, reason}],
// hint}) -> {node, input, setError(text), values()}. Each checkbox has the
// test id `${testid.replace(/s$/, '')}` and its name as value; a disabled
// one says why next to it (and to a screen reader, through
// aria-describedby). `input` is the first checkbox that can be checked (the
// form focuses it when the group has an error); values() are the names
// checked, in the options' order.
export function checkboxGroup(doc, { legend, testid, options, hint }) {
  nextId += 1;
  const id = `f${nextId}`;
  const boxes = options.map((option, i) => {
    const reasonId = `${id}-${i}-reason`;
    const box = el(doc, 'input', {
      className: 'checkbox', testid: testid.replace(/s$/, ''),
      attrs: {
        type: 'checkbox', name: testid, value: option.name, id: `${id}-${i}`,
        disabled: option.disabled, 'aria-describedby': option.disabled ? reasonId : undefined,
      },
    });
    box.disabled = Boolean(option.disabled);
    const label = el(doc, 'label', { className: option.disabled ? 'check check-disabled' : 'check', attrs: { for: `${id}-${i}` } },
      box, el(doc, 'span', { className: 'check-name', text: option.name }));
    const reason = option.disabled
      ? el(doc, 'span', { className: 'check-reason', attrs: { id: reasonId }, text: option.reason })
      : null;
    return { option, box, node: el(doc, 'div', { className: 'check-row' }, label, reason) };
  });
  const hintNode = hint ? el(doc, 'p', { className: 'field-hint', testid: `${testid}-hint`, attrs: { id: `${id}-hint` }, text: hint }) : null;
  const error = el(doc, 'p', { className: 'field-error', testid: `${testid}-error`, attrs: { id: `${id}-error`, hidden: true } });
  const group = el(doc, 'fieldset', { className: 'field fieldset', testid },
    el(doc, 'legend', { className: 'label', text: legend }),
    el(doc, 'div', { className: 'checks' }, boxes.map((b) => b.node)),
    hintNode, error);
  const sync = () => {
    const ids = [hintNode ? `${id}-hint` : '', error.hidden ? '' : `${id}-error`].filter(Boolean).join(' ');
    if (ids) group.setAttribute('aria-describedby', ids); else group.removeAttribute('aria-describedby');
  };
  sync();
  const first = boxes.find((b) => !b.option.disabled);
  return {
    node: group,
    input: first ? first.box : group,
    setError(text) {
      error.textContent = text || '';
      error.hidden = !text;
      sync();
    },
    values: () => boxes.filter((b) => b.box.checked && !b.option.disabled).map((b) => b.option.name),
  };
}

// "expiresOn", "expires_on", "user.display_name" -> "expires_on",
// "display_name": a violation names the request field in either spelling,
// and UpdateUser's fields sit inside `user`. An element of a repeated
// field ("scopes[1]") is its field's.
export function normalizeFieldPath(path) {
  return String(path || '')
    .replace(/^user\./, '')
    .replace(/\[\d+\]$/, '')
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
