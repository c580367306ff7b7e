// Small helpers shared by the dashboard pages. Text from wrapped programs is untrusted:
// everything here builds DOM nodes and sets textContent, never innerHTML.

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $all(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

export function jsonData(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

const pad = (n) => String(n).padStart(2, "0");

export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h ${pad(m)}m`;
  if (m) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

export function durationBetween(startIso, endIso) {
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : Date.now();
  return Number.isNaN(start) ? null : (end - start) / 1000;
}

// One time-zone rule on every page: times are shown in the browser's zone, which is named on
// the page ([data-zone-label]), with the UTC time on hover.
export function formatUtc(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// "UTC+01:00" for a date in the browser's zone.
export function utcOffset(date = new Date()) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// "Europe/Berlin (UTC+01:00)": the browser's zone as the pages name it.
export function zoneLabel(date = new Date()) {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return name ? `${name} (UTC${utcOffset(date)})` : `UTC${utcOffset(date)}`;
}

// A date as ISO 8601 with the browser's offset ("2026-11-26T10:15:00+01:00"): what the pages
// send for a time picked in the browser's zone, so the server reads the same instant.
export function isoWithOffset(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${utcOffset(date)}`;
}

// The value a datetime-local input shows for an instant, in the browser's zone.
export function localInputValue(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// Server-rendered times are in the server's zone; show every time in the browser's zone.
export function localizeTimes(root = document) {
  for (const node of $all("time[datetime]", root)) {
    const iso = node.getAttribute("datetime");
    const text = formatTime(iso);
    if (!text) continue;
    node.textContent = text;
    if (!node.title) node.title = formatUtc(iso);
  }
  for (const node of $all("[data-zone-label]", root)) node.textContent = zoneLabel();
}

export function cssVar(name, fallback = "#888") {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function sessionUrl(template, sessionId) {
  return template.replace("SESSION_ID", encodeURIComponent(sessionId));
}

// ANSI SGR colours → spans whose text is set with textContent. Every other escape sequence
// (cursor movement, OSC titles, hyperlinks) and control character is dropped.
const ESCAPES = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

const XTERM_256 = (n) => {
  if (n < 16) return null;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  return `rgb(${steps[Math.floor(i / 36)]},${steps[Math.floor(i / 6) % 6]},${steps[i % 6]})`;
};

function applySgr(state, params) {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(state, { bold: false, dim: false, italic: false, underline: false, fg: null, bg: null, fgRgb: null, bgRgb: null });
    else if (c === 1) state.bold = true;
    else if (c === 2) state.dim = true;
    else if (c === 3) state.italic = true;
    else if (c === 4) state.underline = true;
    else if (c === 22) state.bold = state.dim = false;
    else if (c === 23) state.italic = false;
    else if (c === 24) state.underline = false;
    else if (c >= 30 && c <= 37) { state.fg = c - 30; state.fgRgb = null; }
    else if (c >= 90 && c <= 97) { state.fg = c - 90 + 8; state.fgRgb = null; }
    else if (c === 39) state.fg = state.fgRgb = null;
    else if (c >= 40 && c <= 47) { state.bg = c - 40; state.bgRgb = null; }
    else if (c >= 100 && c <= 107) { state.bg = c - 100; state.bgRgb = null; }
    else if (c === 49) state.bg = state.bgRgb = null;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      const n = codes[i + 2] ?? 0;
      const rgb = XTERM_256(n);
      if (c === 38) { state.fg = rgb ? null : n; state.fgRgb = rgb; } else { state.bg = rgb ? null : n % 8; state.bgRgb = rgb; }
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
      const rgb = `rgb(${codes[i + 2] & 255},${codes[i + 3] & 255},${codes[i + 4] & 255})`;
      if (c === 38) { state.fg = null; state.fgRgb = rgb; } else { state.bg = null; state.bgRgb = rgb; }
      i += 4;
    }
  }
}

function styledSpan(text, state) {
  const classes = [];
  if (state.bold) classes.push("ansi-bold");
  if (state.dim) classes.push("ansi-dim");
  if (state.italic) classes.push("ansi-italic");
  if (state.underline) classes.push("ansi-underline");
  if (state.fg !== null) classes.push(`ansi-fg-${state.fg}`);
  if (state.bg !== null) classes.push(`ansi-bg-${state.bg}`);
  if (!classes.length && !state.fgRgb && !state.bgRgb) return document.createTextNode(text);
  const span = document.createElement("span");
  span.className = classes.join(" ");
  // CSSOM assignments, not style attributes: allowed by the page's CSP.
  if (state.fgRgb) span.style.color = state.fgRgb;
  if (state.bgRgb) span.style.backgroundColor = state.bgRgb;
  span.textContent = text;
  return span;
}

export function ansiFragment(text) {
  const fragment = document.createDocumentFragment();
  const state = { bold: false, dim: false, italic: false, underline: false, fg: null, bg: null, fgRgb: null, bgRgb: null };
  let last = 0;
  text = String(text ?? "").replace(/\r\n?/g, "\n");
  for (const match of text.matchAll(ESCAPES)) {
    if (match.index > last) fragment.append(styledSpan(text.slice(last, match.index), state));
    if (match[2] === "m") applySgr(state, match[1]);
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(styledSpan(text.slice(last), state));
  return fragment;
}

export function setAnsiText(node, text) {
  node.replaceChildren(ansiFragment(text));
}

// Server-rendered program text arrives as plain (escaped) text; colour it in place.
export function colourAnsi(root = document) {
  for (const node of $all("[data-ansi]", root)) {
    if (node.textContent.includes("\x1b") || /[\x00-\x08\x0b-\x1f]/.test(node.textContent)) {
      setAnsiText(node, node.textContent);
    }
    node.removeAttribute("data-ansi");
  }
}

// Copy to the clipboard, also on plain http (a LAN address is not a secure context).
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a LAN address is not a secure context: fall back to a hidden textarea.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-buffer";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

// A copy button: copies what `text()` gives when clicked and says whether it worked.
export function copyOnClick(button, text) {
  const label = button.textContent;
  button.addEventListener("click", async () => {
    try {
      await copyText(text());
      button.textContent = "Copied";
      button.classList.add("done");
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = label; button.classList.remove("done"); }, 1500);
  });
}

// The line that tells an event from the others (extraction/engine/fingerprint.py's preview): a
// traceback's first line is the same for all of them, its exception line is what happened.
const BOILERPLATE_FIRST_LINES = ["Traceback (most recent call last):", "npm ERR!", "npm error"];

export function eventPreview(event) {
  const meta = event.metadata || {};
  if (meta.exception) return meta.message ? `${meta.exception}: ${meta.message}` : String(meta.exception);
  const lines = String(event.content || "").split("\n").map((line) => line.trim()).filter(Boolean);
  if (lines.length > 1 && BOILERPLATE_FIRST_LINES.some((start) => lines[0].startsWith(start))) {
    return lines[lines.length - 1];
  }
  return lines[0] || "";
}

// The preview, for an event whose first line says nothing ("Traceback (most recent …"); else "".
export function exceptionLine(event) {
  const first = String(event.content || "").split("\n").find((line) => line.trim()) || "";
  return BOILERPLATE_FIRST_LINES.some((start) => first.trim().startsWith(start)) ? eventPreview(event) : "";
}
