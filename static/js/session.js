// One session: the recorded terminal output (xterm.js) followed live, the event timeline,
// one chart per metric, and the state changes.
import { timeChart } from "./charts.js";
import { LiveSocket } from "./live.js";
import { TerminalFit, longestLineIn, recordingTerminal } from "./terminal_fit.js";
import { attachTerminalSearch, fetchWindow, WINDOW_AFTER, WINDOW_BEFORE, windowNotice } from "./terminal_view.js";
import { Timeline } from "./timeline.js";
import { $, ansiFragment, copyOnClick, cssVar, durationBetween, el, exceptionLine, formatDuration, formatTime } from "./util.js";

const page = $("#session-page");
const sessionId = page.dataset.sessionId;
const LIVE = new Set(["running", "waiting_for_input"]);
const STATUSES = new Set([...LIVE, "completed", "failed", "killed", "lost"]);
const MAX_METRIC_POINTS = 20000;

// ---------------------------------------------------------------- terminal

// The search addon marks its matches with decorations, a proposed API in xterm 6.
const term = recordingTerminal(page.dataset, { scrollback: 20000, allowProposedApi: true });
term.open($("#terminal"));
const terminalStatus = $("#terminal-status");
// Pipe output gets rows enough to fill the panel beside the timeline.
const fit = new TerminalFit(term, $(".terminal-panel"), { mode: page.dataset.mode, rows: term.rows, minRows: 30 });
fit.fit();
const terminalEmpty = $("#terminal-empty");
attachTerminalSearch(term, { sessionId });

function showEmptyTerminal(empty) {
  terminalEmpty.hidden = !empty;
  $("#terminal").hidden = empty;
  // A light panel that explains, not a black box.
  $(".terminal-panel").classList.toggle("is-empty", empty);
  if (!empty) {
    // Output arrived after the page said "nothing yet": draw the terminal it had hidden.
    fit.fit();
    term.refresh(0, term.rows - 1);
  }
}

let lastOseq = 0; // output chunks shown: the recording's "o" events 1..lastOseq
let newlines = 0; // "\n" written, to map an event's line number to a buffer row
// While the terminal shows a window of a long recording (lines first_line..last_line), not
// the live tail: {first_line, last_line, total_lines, complete}. Live output waits meanwhile.
let windowed = null;
let refetching = false;
let acceptGap = false;
let pendingChunks = [];

function write(text) {
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) newlines += 1;
  if (fit.pipe) fit.sawLine(longestLineIn(text));
  if (!terminalEmpty.hidden) showEmptyTerminal(false);
  term.write(text);
}

// Read the asciicast v2 recording and show output chunks after `fromOseq`, in order with resizes.
async function loadRecording(fromOseq) {
  // An ended session whose recording is gone: nothing to ask for (the page says why).
  if (page.dataset.hasRecording === "false" && !LIVE.has(page.dataset.status)) return { found: false };
  const response = await fetch(page.dataset.recordingUrl, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 404) return { found: false };
  if (!response.ok) throw new Error(`recording: HTTP ${response.status}`);
  const text = await response.text();
  // A live recording may end mid-line; only whole lines count.
  const lines = text.split("\n");
  lines.pop();
  let oseq = 0;
  let batch = "";
  const flush = () => { if (batch) { write(batch); batch = ""; } };
  for (let i = 1; i < lines.length; i++) {
    let entry;
    try {
      entry = JSON.parse(lines[i]);
    } catch {
      continue;
    }
    const [, code, data] = entry;
    if (code === "o") {
      oseq += 1;
      if (oseq > fromOseq) {
        batch += data;
        if (batch.length > 1 << 20) flush();
      }
    } else if (code === "r" && oseq >= fromOseq) {
      const [cols, rows] = String(data).split("x").map(Number);
      if (cols > 0 && rows > 0) { flush(); fit.resized(cols, rows); }
    }
  }
  flush();
  if (oseq > lastOseq) lastOseq = oseq;
  return { found: true, chunks: oseq };
}

function showOutput(chunks) {
  if (windowed) return; // "show all · live" reads the recording again, these included
  if (refetching) { pendingChunks.push(...chunks); return; }
  for (let i = 0; i < chunks.length; i++) {
    const [oseq, , text] = chunks[i];
    if (oseq <= lastOseq) continue;
    if (oseq > lastOseq + 1 && !acceptGap) {
      // Chunks are missing (dropped while busy or before we subscribed): the recording on
      // disk has them, read it again from where we are.
      pendingChunks.push(...chunks.slice(i));
      refetch();
      return;
    }
    acceptGap = false;
    write(text);
    lastOseq = oseq;
  }
  terminalStatus.textContent = `${lastOseq} output chunks${LIVE.has(document.querySelector("#session-status")?.textContent.trim()) ? " · live" : ""}`;
}

async function refetch() {
  if (refetching) return;
  refetching = true;
  const before = lastOseq;
  try {
    await loadRecording(lastOseq);
  } catch (error) {
    console.warn(error);
  }
  refetching = false;
  // No progress means the recording does not have them either: show what we have.
  if (lastOseq === before) acceptGap = true;
  const pending = pendingChunks;
  pendingChunks = [];
  showOutput(pending);
}

$("#terminal-follow").addEventListener("click", () => term.scrollToBottom());

// An event's line_start counts the program's output lines. A terminal buffer row is not a
// line: long lines wrap over several rows, old rows leave the scrollback, and full-screen
// programs redraw in place. This walks the buffer counting unwrapped rows and assumes the rows
// that left the scrollback were one line each: exact for plain line output within the last
// 20,000 lines, approximate otherwise (and meaningless for a full-screen TUI's alternate screen).
function scrollToSourceLine(lineStart) {
  const buffer = term.buffer.active;
  let logicalInBuffer = 0;
  for (let row = 0; row < buffer.length; row++) {
    if (!buffer.getLine(row)?.isWrapped) logicalInBuffer += 1;
  }
  const trimmed = Math.max(0, newlines + 1 - logicalInBuffer);
  const wanted = lineStart - (windowed ? windowed.first_line : 1) - trimmed;
  if (wanted < 0 || (windowed && lineStart > windowed.last_line)) {
    // The line has left xterm's scrollback (or the window shown): read its part of the recording.
    showWindow(lineStart);
    return;
  }
  let logical = -1;
  let target = 0;
  for (let row = 0; row < buffer.length; row++) {
    if (!buffer.getLine(row)?.isWrapped) logical += 1;
    if (logical >= wanted) { target = row; break; }
    target = row;
  }
  term.scrollToLine(Math.max(0, target));
  // Mark the event's line, as a search result is marked.
  term.selectLines(target, target);
}

// A window of the recording around `line`, with a notice saying so (static/js/terminal_view.js).
let windowTicket = 0;
async function showWindow(line, { mark = true, scroll = "line" } = {}) {
  const ticket = ++windowTicket;
  let w;
  try {
    w = await fetchWindow(page.dataset.outputWindowUrl, sessionId, line);
  } catch (error) {
    console.warn(error);
    terminalStatus.textContent = "could not read that part of the recording";
    return;
  }
  if (ticket !== windowTicket) return;
  windowed = w;
  term.reset();
  newlines = 0;
  if (!fit.pipe) fit.resized(w.cols, w.rows);
  write(w.text);
  notice.show(w);
  term.write("", () => {
    if (scroll === "top") term.scrollToTop();
    else if (scroll === "bottom") term.scrollToBottom();
    if (mark) scrollToSourceLine(Math.min(Math.max(line, w.first_line), w.last_line));
  });
}

async function showLive() {
  windowTicket += 1;
  windowed = null;
  notice.hide();
  term.reset();
  newlines = 0;
  lastOseq = 0;
  await refetch();
  term.scrollToBottom();
}

const notice = windowNotice({
  onEarlier: () => windowed && showWindow(Math.max(1, windowed.first_line - WINDOW_AFTER - 1), { mark: false, scroll: "bottom" }),
  onLater: () => windowed && showWindow(windowed.last_line + WINDOW_BEFORE + 1, { mark: false, scroll: "top" }),
  onLive: showLive,
});

// ---------------------------------------------------------------- timeline

const timeline = $("#timeline");
const timelineCount = $("#timeline-count");

function timelineItem(e) {
  const meta = el("div", { className: "meta" }, [
    el("span", { className: `badge type-${e.event_type}`, text: e.event_type }),
    el("span", { className: "mono", text: e.rule }),
  ]);
  if (e.risk_level !== "low") meta.append(el("span", { className: `badge risk-${e.risk_level}`, text: e.risk_level }));
  const metric = e.event_type === "metric" ? e.metadata || {} : {};
  if (metric.name !== undefined) {
    // A line with several metrics gives several events with the same text: the name tells them apart.
    meta.append(el("span", { className: "mono metric-value", text: `${metric.name} = ${metric.value}${metric.unit ? ` ${metric.unit}` : ""}` }));
  }
  meta.append(el("span", { text: `+${Number(e.offset_seconds || 0).toFixed(1)}s · line ${e.line_start}` }));
  const line = el("div", { className: "line" });
  // A traceback shows its exception line, not "Traceback (most recent call last):".
  line.append(ansiFragment(exceptionLine(e) || String(e.content).split("\n").slice(0, 3).join("\n")));
  return el("li", { className: `t-${e.event_type}`, attrs: { "data-seq": e.seq, "data-line": e.line_start, "data-offset": e.offset_seconds ?? 0, title: `seq ${e.seq} · ${formatTime(e.timestamp)}` } }, [meta, line]);
}

// A permalink opens the session at one event: ?event=SEQ selects it once it is drawn.
const params = new URLSearchParams(window.location.search);
let wantedSeq = params.has("event") ? Number(params.get("event")) : null;

function eventUrl(seq) {
  const url = new URL(window.location.href);
  url.search = "";
  url.hash = "";
  url.searchParams.set("event", seq);
  return url.toString();
}

// The selected event's links (only one item carries them: a busy timeline redraws its rows).
function eventActions(item) {
  const seq = item.dataset.seq;
  const replay = `${page.dataset.replayUrl}?t=${Number(item.dataset.offset || 0).toFixed(1)}`;
  const copy = el("button", { className: "secondary", text: "Copy link", attrs: { type: "button", "data-action": "copy-event-link" } });
  copyOnClick(copy, () => eventUrl(seq));
  return el("div", { className: "event-actions" }, [
    el("a", { text: `permalink #${seq}`, attrs: { href: eventUrl(seq), "data-action": "permalink" } }),
    el("a", { text: "replay from here", attrs: { href: replay, "data-action": "replay" } }),
    copy,
  ]);
}

function selectEvent(item, { scrollTimeline = false } = {}) {
  const previous = timeline.querySelector("li.selected");
  if (previous) {
    previous.classList.remove("selected");
    previous.querySelector(".event-actions")?.remove();
  }
  item.classList.add("selected");
  item.append(eventActions(item));
  eventTimeline.select(item.dataset.seq);
  // The address bar is the permalink too, so the page's own "Copy link" copies it.
  window.history.replaceState(null, "", eventUrl(item.dataset.seq));
  if (scrollTimeline) {
    // Within the timeline only: the page itself stays where it is (its header in view).
    eventTimeline.follow = false;
    const box = timeline.parentElement;
    box.scrollTop += item.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 2;
  }
  scrollToSourceLine(Number(item.dataset.line) || 1);
}

// One listener for the whole timeline: a busy session adds hundreds of items a second.
timeline.addEventListener("click", (event) => {
  const item = event.target.closest("li[data-seq]");
  if (!item || event.target.closest(".event-actions")) return;
  selectEvent(item);
});
copyOnClick($("#copy-link"), () => window.location.href);

// Events are drawn once per animation frame, however many frames the socket delivered in it,
// into a window of rows over every event the page has seen (static/js/timeline.js).
const eventTimeline = new Timeline({
  list: timeline,
  scroller: timeline.parentElement,
  render: timelineItem,
  olderUrl: page.dataset.eventsUrl || "",
  onCount: (total) => {
    timelineCount.textContent = total;
    $("#timeline-empty").hidden = total > 0;
  },
  onDrawn: () => {
    if (wantedSeq === null) return;
    const item = eventTimeline.reveal(wantedSeq);
    if (item) {
      wantedSeq = null;
      selectEvent(item, { scrollTimeline: true });
    }
  },
});

function addToTimeline(list) {
  eventTimeline.add(list);
}

// ---------------------------------------------------------------- metrics

const metrics = new Map(); // name -> { x: [], y: [], plot, latest }
let metricsDirty = null;

function metricOf(e) {
  const meta = e.metadata || {};
  const name = meta.name ?? meta.metric ?? e.rule;
  const value = Number(meta.value);
  if (!name || !Number.isFinite(value)) return null;
  return { name: String(name), value, unit: meta.unit ? String(meta.unit) : "", at: Date.parse(e.timestamp) / 1000 };
}

function addMetrics(events) {
  for (const e of events) {
    if (e.event_type !== "metric") continue;
    const m = metricOf(e);
    if (!m) continue;
    let series = metrics.get(m.name);
    if (!series) {
      const latest = el("span", { className: "latest" });
      const chart = el("div", { className: "chart" });
      const card = el("div", { className: "metric-card" }, [el("h3", {}, [latest, document.createTextNode(m.name)]), chart]);
      $("#metrics").append(card);
      $("#metrics-empty").hidden = true;
      series = { x: [], y: [], plot: null, chart, latest, unit: m.unit };
      metrics.set(m.name, series);
    }
    series.x.push(m.at);
    series.y.push(m.value);
    if (series.x.length > MAX_METRIC_POINTS) { series.x.shift(); series.y.shift(); }
    series.latest.textContent = `${m.value}${m.unit ? ` ${m.unit}` : ""}`;
    series.dirty = true;
  }
  if (!metricsDirty) {
    metricsDirty = requestAnimationFrame(() => {
      metricsDirty = null;
      for (const [name, s] of metrics) {
        if (!s.dirty) continue;
        s.dirty = false;
        if (!s.plot) s.plot = timeChart(s.chart, s.x, [{ label: name, color: cssVar("--metric"), values: s.y }], { height: 140, legend: false });
        else s.plot.setData([s.x, s.y]);
      }
    });
  }
}

// ---------------------------------------------------------------- state

const statusBadge = $("#session-status");
const banner = $("#waiting-banner");
const promptPanel = $("#prompt-panel");
const duration = $("#session-duration");

function setStatus(status) {
  statusBadge.className = `status status-${status}`;
  statusBadge.textContent = status;
  page.dataset.status = status;
  promptPanel.dataset.status = status;
  banner.hidden = status !== "waiting_for_input";
  if (!LIVE.has(status) && !duration.dataset.ended) duration.dataset.ended = new Date().toISOString();
  if (!LIVE.has(status)) terminalStatus.textContent = terminalStatus.textContent.replace(" · live", "");
  // The prompt-answering controls listen for this.
  promptPanel.dispatchEvent(new CustomEvent("streamtap:status", { detail: { status }, bubbles: true }));
}

// The same line as ProcessStateChange.summary() (sessions/models.py) writes on the server.
function stateSummary(metadata) {
  const parts = [];
  for (let [key, value] of Object.entries(metadata || {})) {
    if (key === "screen" || value === null || value === undefined || value === "") continue;
    if (Array.isArray(value) && !value.length) continue;
    if (typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length) continue;
    if (key === "options" && Array.isArray(value)) value = value.filter((o) => o && typeof o === "object").map((o) => String(o.key)).join("/");
    else if (typeof value === "object") value = JSON.stringify(value);
    else if (typeof value === "boolean") value = value ? "True" : "False";
    let text = String(value);
    if (text.length > 80) text = `${text.slice(0, 79)}…`;
    parts.push(`${key}=${text}`);
  }
  return parts.join(" ");
}

function addStates(states) {
  const list = $("#states");
  for (const s of states) {
    const meta = stateSummary(s.metadata);
    // Live state frames carry no time of their own: they are about now.
    const at = s.timestamp || new Date().toISOString();
    const item = el("li", {}, [
      el("time", { text: formatTime(at), attrs: { datetime: at } }),
      el("span", { className: `status status-${s.state}`, text: s.state }),
    ]);
    if (meta) item.append(el("span", { className: "meta", text: meta }));
    list.append(item);
  }
}

function applyInfo(info) {
  if (!info) return;
  if (info.status) setStatus(info.status);
  if (info.exit_code !== undefined && info.exit_code !== null) $("#session-exit").textContent = info.exit_code;
  if (info.ended_at) duration.dataset.ended = info.ended_at;
  if (info.event_counts) {
    $("#session-counts").replaceChildren(...Object.entries(info.event_counts).map(([type, n]) =>
      el("span", { className: `badge type-${type}`, text: `${type} ${n}` })));
  }
}

function showDuration() {
  duration.textContent = formatDuration(durationBetween(duration.dataset.started, duration.dataset.ended));
}
showDuration();
setInterval(showDuration, 1000);

// ---------------------------------------------------------------- wiring

const socket = new LiveSocket({
  onEvents: (sid, events) => {
    if (sid !== sessionId) return;
    addToTimeline(events);
    addMetrics(events);
  },
  onState: (sid, states, info) => {
    if (sid !== sessionId) return;
    addStates(states);
    const lifecycle = states.filter((s) => STATUSES.has(s.state));
    if (lifecycle.length) setStatus(lifecycle[lifecycle.length - 1].state);
    applyInfo(info);
  },
  onOutput: (sid, chunks, gap) => {
    if (sid !== sessionId) return;
    showOutput(chunks);
    if (gap && gap[1] > lastOseq) refetch();
  },
});

(async () => {
  try {
    const loaded = await loadRecording(0);
    const running = LIVE.has(document.querySelector("#session-status")?.textContent.trim());
    terminalStatus.textContent = loaded.found ? `${lastOseq} output chunks` : running ? "no recording yet" : "no recording";
    if (!lastOseq) {
      // Not a black box: say why there is nothing to show.
      if (loaded.found && !running) $("#terminal-empty-reason").textContent = "The program printed nothing: its recording holds no output.";
      showEmptyTerminal(true);
    }
  } catch (error) {
    terminalStatus.textContent = "could not load the recording";
    console.warn(error);
  }
  // A search result opens the session at one line of its output: ?line=N.
  const wantedLine = Number(new URLSearchParams(window.location.search).get("line"));
  if (wantedLine > 0 && lastOseq) term.write("", () => scrollToSourceLine(wantedLine));
  // Events come from the database (after seq 0) through the socket, then live.
  socket.connect().subscribeSession(sessionId, { afterSeq: 0, afterOseq: () => lastOseq });
})();
