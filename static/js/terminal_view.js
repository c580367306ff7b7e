// The session page's terminal: a search box over xterm's buffer (xterm's search addon), and a
// window of the recording around one line for long sessions, whose first lines have left
// xterm's scrollback (GET /api/output/window/ reads them from the recording, by the output
// index, whatever the session's length).
import { SearchAddon } from "../vendor/xterm/addon-search.mjs";
import { $ } from "./util.js";

// Lines shown around the one asked for.
export const WINDOW_BEFORE = 200;
export const WINDOW_AFTER = 199;

const SEARCH_DECORATIONS = {
  matchBackground: "#6b5a1e",
  matchBorder: "#fde68a",
  matchOverviewRuler: "#fde68a",
  activeMatchBackground: "#fde68a",
  activeMatchBorder: "#f59e0b",
  activeMatchColorOverviewRuler: "#f59e0b",
};

/** The search box: Enter finds the next match, Shift+Enter the previous one, Escape clears. */
export function attachTerminalSearch(term, { sessionId }) {
  const addon = new SearchAddon();
  term.loadAddon(addon);
  const input = $("#terminal-search");
  const count = $("#terminal-search-count");
  const allLink = $("#terminal-search-all");
  const baseAll = allLink.getAttribute("href");
  const options = (incremental) => ({ caseSensitive: false, incremental, decorations: SEARCH_DECORATIONS });
  addon.onDidChangeResults(({ resultIndex, resultCount }) => {
    if (!input.value) count.textContent = "";
    else if (resultCount === 0) count.textContent = "no match";
    else if (resultIndex < 0) count.textContent = `${resultCount} found`;
    else count.textContent = `${resultIndex + 1} of ${resultCount}`;
  });
  const find = (backwards = false, incremental = false) => {
    const text = input.value;
    allLink.setAttribute("href", text ? `${baseAll}&q=${encodeURIComponent(text)}` : baseAll);
    if (!text) {
      addon.clearDecorations();
      term.clearSelection();
      count.textContent = "";
      return;
    }
    if (backwards) addon.findPrevious(text, options(false));
    else addon.findNext(text, options(incremental));
  };
  input.addEventListener("input", () => find(false, true));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      find(event.shiftKey);
    } else if (event.key === "Escape") {
      input.value = "";
      find();
    }
  });
  $("#terminal-search-next").addEventListener("click", () => find(false));
  $("#terminal-search-prev").addEventListener("click", () => find(true));
  return { addon, refresh: () => input.value && find(false, true), sessionId };
}

/** Fetch the recorded output around `line`: {first_line, last_line, total_lines, text, cols, rows, complete}. */
export async function fetchWindow(url, sessionId, line) {
  const query = new URLSearchParams({ session: sessionId, line: String(line), before: String(WINDOW_BEFORE), after: String(WINDOW_AFTER) });
  const response = await fetch(`${url}?${query}`, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`output window: HTTP ${response.status}`);
  return response.json();
}

/** "lines 1–400 of 30,000": what the window notice says. */
export function windowLabel(w) {
  const n = (x) => Number(x).toLocaleString("en-US");
  return `Showing lines ${n(w.first_line)}–${n(w.last_line)} of ${n(w.total_lines)}${w.complete ? "" : "+"} (a window of the recording)`;
}

/** The notice above the terminal while it shows a window; its buttons call the handlers. */
export function windowNotice({ onEarlier, onLater, onLive }) {
  const box = $("#terminal-window");
  const label = $("#terminal-window-label");
  const earlier = $("#terminal-window-earlier");
  const later = $("#terminal-window-later");
  earlier.addEventListener("click", onEarlier);
  later.addEventListener("click", onLater);
  $("#terminal-window-live").addEventListener("click", onLive);
  return {
    show(w) {
      label.textContent = windowLabel(w);
      earlier.disabled = w.first_line <= 1;
      later.disabled = w.complete && w.last_line >= w.total_lines;
      box.hidden = false;
    },
    hide() {
      box.hidden = true;
    },
  };
}
