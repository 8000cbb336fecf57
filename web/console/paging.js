// Keyset paging as the API does it: each answer's next_page_token fetches
// the next page (with the same filters). The cursor remembers the tokens of
// the pages before, so "Previous" goes back without the server's help.

import { el } from './dom.js';

export class PageCursor {
  constructor() { this.reset(); }

  reset() {
    this.tokens = ['']; // page_token of each page seen, the first is ''
    this.index = 0;
    this.next = '';
  }

  get current() { return this.tokens[this.index]; }
  get page() { return this.index + 1; }
  get hasPrevious() { return this.index > 0; }
  get hasNext() { return this.next !== ''; }

  // Records the answer to the current page.
  loaded(nextPageToken) { this.next = nextPageToken || ''; }

  forward() {
    if (!this.hasNext) return false;
    this.tokens = this.tokens.slice(0, this.index + 1);
    this.tokens.push(this.next);
    this.index += 1;
    this.next = '';
    return true;
  }

  back() {
    if (!this.hasPrevious) return false;
    this.index -= 1;
    this.next = '';
    return true;
  }
}

// Previous / "Page N" / Next under a table.
export function renderPager(doc, cursor, { onPrevious, onNext, testid = 'pager' }) {
  const prev = el(doc, 'button', { className: 'btn btn-small', testid: `${testid}-previous`, text: 'Previous', attrs: { type: 'button', disabled: !cursor.hasPrevious } });
  const next = el(doc, 'button', { className: 'btn btn-small', testid: `${testid}-next`, text: 'Next', attrs: { type: 'button', disabled: !cursor.hasNext } });
  prev.addEventListener('click', onPrevious);
  next.addEventListener('click', onNext);
  return el(doc, 'nav', { className: 'pager', testid, attrs: { 'aria-label': 'Pages' } },
    prev, el(doc, 'span', { className: 'muted', testid: `${testid}-page`, text: `Page ${cursor.page}` }), next);
}
