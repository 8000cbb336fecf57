// Building DOM nodes without HTML strings. Every value reaches the page as a
// text node or an attribute value, never as markup, so a name such as
// "<img src=x onerror=alert(1)>" stays text. Event handlers are attached
// with addEventListener, never as on* attributes, and styling goes through
// classes, so the page works under a CSP without 'unsafe-inline'.

// Attributes that would turn a value into code or inline style.
const FORBIDDEN_ATTRIBUTE = /^(on|style$|srcdoc$|formaction$)/i;

// el(doc, 'button', {className: 'btn', testid: 'add-token', attrs: {type: 'button'},
//    on: {click: fn}}, 'Create Token')
// Children are nodes, strings (made text nodes), or null/false (skipped).
export function el(doc, tag, props = {}, ...children) {
  const node = doc.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.testid) node.setAttribute('data-testid', props.testid);
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    setSafeAttribute(node, name, value === true ? '' : String(value));
  }
  for (const [type, handler] of Object.entries(props.on || {})) {
    node.addEventListener(type, handler);
  }
  append(doc, node, children);
  return node;
}

export function setSafeAttribute(node, name, value) {
  if (FORBIDDEN_ATTRIBUTE.test(name)) {
    throw new Error(`refusing to set the attribute ${name}`);
  }
  node.setAttribute(name, value);
}

export function append(doc, parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? doc.createTextNode(child) : child);
  }
  return parent;
}

// Removes every child of `node`.
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Replaces the children of `node` with `children`.
export function replaceChildren(doc, node, ...children) {
  clear(node);
  return append(doc, node, children);
}
