// The session page's event timeline: every event kept, a bounded window of them in the DOM.
//
// A flood (1,000 events/s) used to cost the page its main thread: each frame appended rows to a
// list of a thousand and laid it all out again (p95 372 ms from print to row, against 111 ms for
// a websocket client without a browser). Now events are drawn at most once per animation frame,
// the list holds at most `windowSize` rows, and the rest stay one click away: "earlier" and
// "newer" buttons move the window over the events this page has seen, so each one stays
// reachable. While the reader is at the bottom the window follows the newest event; scrolled up,
// it stays still and the "newer" button counts what arrived.

import { el } from "./util.js";

const WINDOW_ROWS = 200;
const PAGE_ROWS = 100;
// Events kept in the page; older ones are on the Events page (`olderUrl`), never lost.
const MAX_KEPT = 50000;
// A quiet session draws at once (a frame would add up to 16 ms); a busy one once per frame.
const QUIET_MS = 50;

export class Timeline {
  /**
   * list: the <ol>; scroller: its scrolling box; render(event) → <li data-seq>;
   * onCount(total, dropped): the page's counter; onDrawn(): after each draw.
   */
  constructor({ list, scroller, render, onCount = () => {}, onDrawn = () => {}, olderUrl = "", windowSize = WINDOW_ROWS }) {
    this.list = list;
    this.scroller = scroller;
    this.render = render;
    this.onCount = onCount;
    this.onDrawn = onDrawn;
    this.windowSize = windowSize;
    this.events = []; // every event kept, in arrival order (seq order within a frame)
    this.dropped = 0; // events shifted out of `events` (MAX_KEPT), reachable at olderUrl
    this.start = 0; // the window: events[start, end) are the rows in the list
    this.end = 0;
    this.follow = true;
    this.pending = [];
    this.frame = null;
    this.lastDraw = 0;
    this.selectedSeq = null;

    this.earlier = el("button", { className: "secondary timeline-more", attrs: { type: "button", "data-action": "timeline-earlier", hidden: "" } });
    this.newer = el("button", { className: "secondary timeline-more", attrs: { type: "button", "data-action": "timeline-newer", hidden: "" } });
    this.older = el("a", { className: "timeline-more", attrs: { href: olderUrl || "#", "data-action": "timeline-older", hidden: "" } });
    // Below the last row: while it is in view the reader is at the bottom. An observer tells,
    // where a scroll listener would read the layout back on every scroll of a busy list.
    this.bottom = el("div", { className: "timeline-bottom", attrs: { "aria-hidden": "true" } });
    list.before(this.older, this.earlier);
    list.after(this.newer, this.bottom);
    this.earlier.addEventListener("click", () => this.showEarlier());
    this.newer.addEventListener("click", () => this.showNewer());
    this.atBottom = true;
    new IntersectionObserver((entries) => {
      this.atBottom = entries[entries.length - 1].isIntersecting;
      // Following again once the reader is back at the bottom of the newest rows; scrolled
      // up, the window stays still.
      const follow = this.atBottom && this.end === this.events.length;
      if (follow !== this.follow) {
        this.follow = follow;
        if (follow && (this.pending.length || this.end < this.events.length)) this.draw();
        else this.updateButtons();
      }
    }, { root: scroller, rootMargin: "0px 0px 8px 0px" }).observe(this.bottom);
  }

  get total() {
    return this.dropped + this.events.length;
  }

  add(events) {
    if (!events.length) return;
    for (const event of events) this.pending.push(event);
    if (this.frame) return;
    if (performance.now() - this.lastDraw > QUIET_MS) this.draw();
    else this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = null;
    this.lastDraw = performance.now();
    const fresh = this.pending;
    this.pending = [];
    for (const event of fresh) this.events.push(event);
    this.forget();
    if (this.follow) {
      // Only the rows the window will hold are built: in a burst larger than the window the
      // first ones would be removed before the browser ever drew them.
      const total = this.events.length;
      const from = Math.max(this.end, total - this.windowSize);
      if (from > this.end) this.clear(from);
      this.appendRows(from, total);
      this.trimFront();
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
    this.updateButtons();
    this.onCount(this.total, this.dropped);
    this.onDrawn();
  }

  // Past MAX_KEPT, the oldest events leave the page's memory (the Events page has them).
  forget() {
    const excess = this.events.length - MAX_KEPT;
    if (excess <= 0) return;
    this.events.splice(0, excess);
    this.dropped += excess;
    this.start = Math.max(0, this.start - excess);
    this.end = Math.max(0, this.end - excess);
    this.trimFront(this.start);
  }

  clear(at) {
    this.list.replaceChildren();
    this.start = this.end = at;
  }

  rows(from, to) {
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i++) {
      const item = this.render(this.events[i]);
      if (this.selectedSeq !== null && Number(item.dataset.seq) === this.selectedSeq) item.classList.add("selected");
      fragment.append(item);
    }
    return fragment;
  }

  appendRows(from, to) {
    if (to <= from) return;
    this.list.append(this.rows(from, to));
    this.end = to;
  }

  prependRows(from, to) {
    if (to <= from) return;
    this.list.prepend(this.rows(from, to));
    this.start = from;
  }

  // Keep at most windowSize rows, dropping from the top (following) ...
  trimFront(minStart = 0) {
    const count = Math.min(this.list.childElementCount, Math.max(this.end - this.start - this.windowSize, minStart - this.start));
    if (count <= 0) return;
    this.removeRows(this.list.firstElementChild, this.list.children[count - 1]);
    this.start += count;
  }

  // ... or from the bottom (reading earlier events).
  trimBack() {
    const count = Math.min(this.list.childElementCount, this.end - this.start - this.windowSize);
    if (count <= 0) return;
    const rows = this.list.children;
    this.removeRows(rows[rows.length - count], this.list.lastElementChild);
    this.end -= count;
  }

  // One removal for many rows (a row at a time costs a mutation record and an invalidation each).
  removeRows(first, last) {
    const range = document.createRange();
    range.setStartBefore(first);
    range.setEndAfter(last);
    range.deleteContents();
  }

  showEarlier() {
    if (this.start === 0) return;
    this.follow = false;
    const anchor = this.list.firstElementChild;
    const before = anchor ? anchor.getBoundingClientRect().top : 0;
    this.prependRows(Math.max(0, this.start - PAGE_ROWS), this.start);
    this.trimBack();
    // The row that was at the top stays where the reader saw it.
    if (anchor && anchor.isConnected) this.scroller.scrollTop += anchor.getBoundingClientRect().top - before;
    this.updateButtons();
  }

  showNewer() {
    const total = this.events.length;
    if (this.end >= total) return;
    const anchor = this.list.lastElementChild;
    const before = anchor ? anchor.getBoundingClientRect().top : 0;
    if (total - this.end > this.windowSize) {
      // Far behind: jump to the next page instead of building everything in between.
      this.clear(this.end);
    }
    this.appendRows(this.end, Math.min(total, this.end + PAGE_ROWS));
    this.trimFront();
    if (anchor && anchor.isConnected) this.scroller.scrollTop += anchor.getBoundingClientRect().top - before;
    if (this.end === total) {
      this.follow = true;
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
    this.updateButtons();
  }

  // The row of event `seq`, drawn (the window moved to it) if this page has the event.
  reveal(seq) {
    const at = this.list.querySelector(`li[data-seq="${Number(seq)}"]`);
    if (at) return at;
    const index = this.events.findIndex((e) => Number(e.seq) === Number(seq));
    if (index === -1) return null;
    this.follow = false;
    const from = Math.max(0, Math.min(index - PAGE_ROWS, this.events.length - this.windowSize));
    this.clear(from);
    this.appendRows(from, Math.min(this.events.length, from + this.windowSize));
    this.updateButtons();
    return this.list.querySelector(`li[data-seq="${Number(seq)}"]`);
  }

  select(seq) {
    this.selectedSeq = seq === null ? null : Number(seq);
  }

  updateButtons() {
    const earlier = this.start;
    const newer = this.events.length - this.end + this.pending.length;
    // Constant text while following: a label changing every frame would be laid out every frame.
    this.earlier.hidden = earlier === 0;
    this.earlier.textContent = "↑ Earlier events";
    this.newer.hidden = newer === 0 || this.follow;
    if (!this.newer.hidden) this.newer.textContent = `↓ ${newer} newer`;
    this.older.hidden = !(this.dropped && this.start === 0);
    this.older.textContent = `${this.dropped} older events on the Events page`;
  }
}
