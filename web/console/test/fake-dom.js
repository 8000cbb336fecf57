// A tiny stand-in for the DOM, enough for the rendering helpers: elements
// with attributes, children, text, events and <dialog>'s showModal/close.
// Setting innerHTML throws, so a test fails if any helper uses it.

class FakeNode {
  constructor(doc) { this.ownerDocument = doc; this.parentNode = null; this.childNodes = []; }
  get firstChild() { return this.childNodes[0] || null; }
  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument;
  }
  appendChild(child) {
    // As the DOM's: anything but a node (an array, say) is a TypeError.
    if (!(child instanceof FakeNode)) throw new TypeError('appendChild of a non-node');
    if (child.parentNode) child.parentNode.removeChild(child);
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }
  removeChild(child) {
    const i = this.childNodes.indexOf(child);
    if (i < 0) throw new Error('not a child');
    this.childNodes.splice(i, 1);
    child.parentNode = null;
    return child;
  }
  remove() { if (this.parentNode) this.parentNode.removeChild(this); }
  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(''); }
  set textContent(text) {
    for (const c of [...this.childNodes]) this.removeChild(c);
    if (text !== '') this.appendChild(new FakeText(this.ownerDocument, String(text)));
  }
}

export class FakeText extends FakeNode {
  constructor(doc, data) { super(doc); this.nodeType = 3; this.data = data; }
  get textContent() { return this.data; }
  set textContent(text) { this.data = String(text); }
}

export class FakeElement extends FakeNode {
  constructor(doc, tagName) {
    super(doc);
    this.nodeType = 1;
    this.tagName = tagName.toUpperCase();
    this.attributes = new Map();
    this.listeners = new Map();
    this.value = '';
    this.disabled = false;
    this.open = false;
  }
  get className() { return this.getAttribute('class') || ''; }
  set className(v) { this.setAttribute('class', v); }
  get hidden() { return this.attributes.has('hidden'); }
  set hidden(v) { if (v) this.setAttribute('hidden', ''); else this.removeAttribute('hidden'); }
  get dataset() {
    const out = {};
    for (const [k, v] of this.attributes) {
      if (k.startsWith('data-')) out[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
    }
    return out;
  }
  setAttribute(name, value) { this.attributes.set(name.toLowerCase(), String(value)); }
  getAttribute(name) { return this.attributes.has(name.toLowerCase()) ? this.attributes.get(name.toLowerCase()) : null; }
  hasAttribute(name) { return this.attributes.has(name.toLowerCase()); }
  removeAttribute(name) { this.attributes.delete(name.toLowerCase()); }
  set innerHTML(_) { throw new Error('innerHTML used'); }
  get innerHTML() { throw new Error('innerHTML used'); }
  set outerHTML(_) { throw new Error('outerHTML used'); }
  insertAdjacentHTML() { throw new Error('insertAdjacentHTML used'); }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  removeEventListener(type, fn) {
    const list = this.listeners.get(type) || [];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }
  dispatch(type, props = {}) {
    const event = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, ...props };
    for (const fn of [...(this.listeners.get(type) || [])]) fn(event);
    return event;
  }
  click() { if (!this.disabled) this.dispatch('click'); }
  focus() { this.ownerDocument.activeElement = this; }
  select() {}
  showModal() { this.open = true; }
  close() {
    if (!this.open) return;
    this.open = false;
    this.dispatch('close');
  }
  // Every descendant element, depth first.
  *descendants() {
    for (const c of this.childNodes) {
      if (c instanceof FakeElement) { yield c; yield* c.descendants(); }
    }
  }
  byTestId(id) { return [...this.descendants()].find((e) => e.getAttribute('data-testid') === id) || null; }
  allByTestId(id) { return [...this.descendants()].filter((e) => e.getAttribute('data-testid') === id); }
  byTag(tag) { return [...this.descendants()].filter((e) => e.tagName === tag.toUpperCase()); }
}

export class FakeDocument extends FakeNode {
  constructor() {
    super(null);
    this.ownerDocument = this;
    this.activeElement = null;
    this.body = this.createElement('body');
    this.appendChild(this.body);
    this.created = [];
  }
  createElement(tag) {
    const e = new FakeElement(this, tag);
    if (this.created) this.created.push(e);
    return e;
  }
  createTextNode(text) { return new FakeText(this, text); }
  addEventListener() {}
  removeEventListener() {}
  byTestId(id) { return this.body.byTestId(id); }
}
