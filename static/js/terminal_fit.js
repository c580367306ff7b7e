// Sizing a recorded terminal to its box (session and replay pages).
//
// A pty session keeps its recorded columns (full-screen programs draw for that width) and the
// font is scaled so those columns fill the box. Pipe output has no width of its own (the
// recorded 80 columns are only the tap's default): it gets as many columns as the box holds at
// the normal font, or its longest line's, so it is never wrapped at 80.
import { Terminal } from "../vendor/xterm/xterm.mjs";
import { cssVar } from "./util.js";

const BASE_FONT = 13;
const MIN_FONT = 7;
const MAX_FONT = 16;
const MAX_PIPE_COLS = 1000;

let cellRatio = null; // a monospace cell's width over the font size

function cellWidthRatio(fontFamily) {
  if (cellRatio === null) {
    const probe = document.createElement("span");
    probe.textContent = "M".repeat(200);
    probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;font-size:100px;font-family:${fontFamily}`;
    document.body.append(probe);
    cellRatio = probe.getBoundingClientRect().width / 200 / 100 || 0.6;
    probe.remove();
  }
  return cellRatio;
}

export class TerminalFit {
  /** `box` is the element whose width the terminal fills; `mode` is "pty" or "pipe". */
  constructor(term, box, { mode, rows, minRows = 0 }) {
    this.term = term;
    this.box = box;
    this.pipe = mode !== "pty";
    this.rows = rows;
    this.minRows = minRows;
    this.longestLine = 0;
    this.cols = term.cols;
    new ResizeObserver(() => this.fit()).observe(box);
  }

  width() {
    const style = getComputedStyle(this.box);
    return this.box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
  }

  /** Pipe mode: a line this long was printed (columns), so the terminal should be this wide. */
  sawLine(length) {
    if (length <= this.longestLine) return;
    this.longestLine = Math.min(length, MAX_PIPE_COLS);
    if (this.longestLine > this.term.cols) this.fit();
  }

  /** The recording resized the terminal (pty mode): keep its columns, refit the font. */
  resized(cols, rows) {
    this.cols = cols;
    this.rows = rows;
    this.fit();
  }

  fit() {
    const width = this.width();
    if (width <= 0) return;
    const ratio = cellWidthRatio(this.term.options.fontFamily);
    if (this.pipe) {
      const fitting = Math.floor(width / (BASE_FONT * ratio));
      const cols = Math.max(20, fitting, this.longestLine);
      const rows = Math.max(this.rows, this.minRows);
      if (this.term.options.fontSize !== BASE_FONT) this.term.options.fontSize = BASE_FONT;
      if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    } else {
      const font = Math.max(MIN_FONT, Math.min(MAX_FONT, Math.floor((width / (this.cols * ratio)) * 10) / 10));
      if (this.term.options.fontSize !== font) this.term.options.fontSize = font;
      if (this.cols !== this.term.cols || this.rows !== this.term.rows) this.term.resize(this.cols, this.rows);
    }
    this.box.dataset.cols = String(this.term.cols);
    this.box.dataset.fontSize = String(this.term.options.fontSize);
  }
}

// The printable width of each line of `text` (escape sequences removed), for sawLine().
export function longestLineIn(text) {
  let longest = 0;
  for (const line of text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?/g, "").split(/\r?\n|\r/)) {
    if (line.length > longest) longest = line.length;
  }
  return longest;
}

/**
 * A read-only xterm for a recording, sized as it was recorded (`dataset` is the page root's:
 * cols, rows, mode). Pipes print bare "\n"; a terminal needs "\r\n" or lines stair-step. A pty
 * already sends "\r\n", and full-screen programs rely on a bare "\n" meaning "down one row".
 */
export function recordingTerminal(dataset, { scrollback, ...options }) {
  return new Terminal({
    cols: Number(dataset.cols) || 80,
    rows: Number(dataset.rows) || 24,
    convertEol: dataset.mode !== "pty",
    disableStdin: true,
    cursorBlink: false,
    scrollback,
    fontFamily: cssVar("--mono", "monospace"),
    fontSize: BASE_FONT,
    theme: { background: cssVar("--term-bg", "#0f1117"), foreground: cssVar("--term-text", "#d8dee9") },
    // Program colours (dark blue, dim grey) lightened where needed to stay readable (WCAG AA).
    minimumContrastRatio: 4.5,
    ...options,
  });
}
