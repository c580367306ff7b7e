// The replay page: a recorded session in xterm.js with play/pause, speed, a seek bar with event
// markers, jumps between errors and prompts, and the event list following playback.
//
// The player keeps its own clock. It asks the server for the screen at a time offset and the
// lines after it (range?start=T), then for more by cursor (range?cursor=C) while it plays; at
// the end of a live recording it polls the same way. Pausing, changing speed and skipping idle
// time are local; a seek is one small request whatever the length of the recording.
import { Terminal } from "../vendor/xterm/xterm.mjs";
import { $, cssVar, el } from "./util.js";

const root = $("#replay");
const indexUrl = root.dataset.indexUrl;
const rangeUrl = root.dataset.rangeUrl;
const loginUrl = document.body.dataset.loginUrl || "/login/";

const TICK_MS = 40;
const IDLE_CAP = 2; // seconds, when "skip idle" is on
const LOW_WATER_FRAMES = 2000; // fetch more when fewer lines than this are buffered
const LOW_WATER_SECONDS = 20; // … or they cover less playback time than this
const POLL_MS = 1000; // at the end of a live recording
const INDEX_POLL_MS = 5000; // a live session's new events and status

const term = new Terminal({
  cols: Number(root.dataset.cols) || 80,
  rows: Number(root.dataset.rows) || 24,
  // Pipes print bare "\n"; a pty already sends "\r\n" (see session.js).
  convertEol: root.dataset.mode !== "pty",
  disableStdin: true,
  cursorBlink: false,
  scrollback: 5000,
  fontFamily: cssVar("--mono", "monospace"),
  fontSize: 13,
  theme: { background: cssVar("--term-bg", "#0f1117"), foreground: cssVar("--term-text", "#d8dee9") },
});
term.open($("#replay-terminal"));

const ui = {
  play: $("#replay-play"),
  seek: $("#replay-seek"),
  markers: $("#replay-markers"),
  time: $("#replay-time"),
  speed: $("#replay-speed"),
  skipIdle: $("#replay-skip-idle"),
  status: $("#replay-status"),
  sessionStatus: $("#replay-session-status"),
  events: $("#replay-events"),
  eventsEmpty: $("#replay-events-empty"),
  eventCount: $("#replay-event-count"),
};

const player = {
  duration: 0,
  live: false,
  events: [], // sorted by offset_seconds, seq
  eventItems: [],
  frames: [], // buffered [t, code, data], in order
  head: 0, // index of the next frame to write
  cursor: null,
  eof: false,
  fetching: false,
  generation: 0, // bumped by every seek: answers to older requests are dropped
  position: 0, // recording time shown, seconds
  lastOutput: 0, // recording time of the last frame written
  playing: false,
  ended: false,
  speed: 1,
  lastTick: performance.now(),
  lastPoll: 0,
  lastIndexPoll: performance.now(),
  dragging: false,
  current: -1, // index of the last event reached
  markersFor: -1, // duration the markers were laid out for
};

// ---------------------------------------------------------------- server

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401 || response.status === 403) {
    window.location.href = `${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`;
    throw new Error("not logged in");
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function withParams(url, params) {
  const u = new URL(url, window.location.href);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

function absorb(body) {
  player.frames = player.frames.slice(player.head).concat(body.frames);
  player.head = 0;
  player.cursor = body.cursor;
  player.eof = body.eof;
  player.duration = Math.max(player.duration, body.duration);
  setLive(body.live);
}

async function fetchMore() {
  if (player.fetching || player.cursor === null) return;
  const generation = player.generation;
  player.fetching = true;
  try {
    const body = await getJSON(withParams(rangeUrl, { cursor: player.cursor }));
    if (generation === player.generation) absorb(body);
  } catch (err) {
    showStatus(`could not load the recording: ${err.message}`);
  } finally {
    player.fetching = false;
    player.lastPoll = performance.now();
  }
}

async function seek(t) {
  t = Math.max(0, Math.min(t, player.duration || t));
  const generation = ++player.generation;
  player.fetching = true;
  showStatus("seeking…");
  try {
    const body = await getJSON(withParams(rangeUrl, { start: t.toFixed(3) }));
    if (generation !== player.generation) return;
    term.reset();
    if (body.cols !== term.cols || body.rows !== term.rows) term.resize(body.cols, body.rows);
    if (body.keyframe) term.write(body.keyframe);
    player.frames = [];
    player.head = 0;
    absorb(body);
    player.position = player.lastOutput = body.start;
    player.ended = false;
    player.lastTick = performance.now();
    render();
  } catch (err) {
    showStatus(`could not seek: ${err.message}`);
  } finally {
    if (generation === player.generation) player.fetching = false;
  }
}

async function refreshIndex() {
  player.lastIndexPoll = performance.now();
  const index = await getJSON(indexUrl);
  player.duration = Math.max(player.duration, index.duration);
  setLive(index.live);
  ui.sessionStatus.textContent = index.status;
  ui.sessionStatus.className = `status status-${index.status}`;
  if (index.events.length !== player.events.length) setEvents(index.events);
}

// ---------------------------------------------------------------- playback

function tick() {
  const now = performance.now();
  const elapsed = ((now - player.lastTick) / 1000) * player.speed;
  player.lastTick = now;
  if (player.playing && !player.fetching) advance(elapsed);
  if (!player.fetching) {
    const buffered = player.frames.length - player.head;
    const ahead = buffered ? player.frames[player.frames.length - 1][0] - player.position : 0;
    if (!player.eof && (buffered < LOW_WATER_FRAMES || ahead < LOW_WATER_SECONDS)) fetchMore();
    else if (player.eof && player.live && now - player.lastPoll > POLL_MS) fetchMore();
  }
  if (player.live && now - player.lastIndexPoll > INDEX_POLL_MS) refreshIndex().catch(() => {});
  render();
}

function advance(elapsed) {
  const next = player.frames[player.head];
  if (!next) {
    if (!player.eof) return; // buffering
    if (player.live) {
      // Caught up with a running session: follow it at the edge.
      player.position = Math.max(player.position, player.duration);
      return;
    }
    player.position = player.duration;
    setPlaying(false);
    player.ended = true;
    return;
  }
  let target = player.position + elapsed;
  // Skip idle: a pause in the output longer than the cap is cut to the cap.
  if (ui.skipIdle.checked && next[0] > target && target - player.lastOutput >= IDLE_CAP) {
    target = next[0];
  }
  player.position = target;
  writeDue();
}

function writeDue() {
  let out = "";
  const frames = player.frames;
  while (player.head < frames.length && frames[player.head][0] <= player.position) {
    const [t, code, data] = frames[player.head++];
    if (code === "o") out += data;
    else if (code === "r") {
      if (out) term.write(out);
      out = "";
      const [cols, rows] = data.split("x").map(Number);
      if (cols > 0 && rows > 0) term.resize(cols, rows);
    }
    player.lastOutput = t;
  }
  if (out) term.write(out);
  if (player.head > 5000) {
    player.frames = frames.slice(player.head);
    player.head = 0;
  }
}

function setPlaying(playing) {
  player.playing = playing;
  player.lastTick = performance.now();
  ui.play.textContent = playing ? "Pause" : "Play";
  ui.play.setAttribute("aria-pressed", String(playing));
}

function setLive(live) {
  const ended = player.live && !live;
  player.live = Boolean(live);
  root.dataset.live = String(player.live);
  if (ended) {
    // The index poll can learn of the end before the recording's last lines were read: read
    // on to the real end (without this, the last output of a session never appeared).
    player.eof = false;
    // The tap stores its last events as it exits: read the list once more after the end.
    refreshIndex().catch(() => {});
  }
}

let lastJump = { offset: -1, at: 0 };

function jump(type, direction) {
  const candidates = player.events.filter((e) => e.event_type === type);
  let target;
  if (direction > 0) {
    target = candidates.find((e) => e.offset_seconds > player.position + 0.001);
  } else {
    // Back means before the event just jumped to, even if playback has moved past it since
    // (at 16× that is many seconds in a moment), as a player's "previous track" does.
    const recent = performance.now() - lastJump.at < 3000 ? lastJump.offset : Infinity;
    const before = Math.min(player.position - 0.25, recent - 0.001);
    target = candidates.findLast((e) => e.offset_seconds < before);
  }
  if (!target) {
    showStatus(`no ${direction > 0 ? "next" : "previous"} ${type}`);
    return;
  }
  lastJump = { offset: target.offset_seconds, at: performance.now() };
  seek(target.offset_seconds);
}

// ---------------------------------------------------------------- view

function clock(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function showStatus(text) {
  ui.status.textContent = text;
}

function firstLine(text) {
  // Event content is program output: shown as text, with escape sequences removed.
  const clean = String(text || "").replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07?/g, "");
  return clean.split("\n").find((line) => line.trim()) || "";
}

function setEvents(events) {
  player.events = events.slice().sort((a, b) => a.offset_seconds - b.offset_seconds || a.seq - b.seq);
  player.eventItems = player.events.map((event) => {
    const item = el("li", { className: "", attrs: { "data-seq": event.seq, "data-type": event.event_type } }, [
      el("span", { className: "when", text: clock(event.offset_seconds) }),
      el("span", { className: `badge type-${event.event_type}`, text: event.event_type }),
      el("span", { className: "what", text: firstLine(event.content) }),
    ]);
    item.addEventListener("click", () => seek(event.offset_seconds));
    return item;
  });
  ui.events.replaceChildren(...player.eventItems);
  ui.eventsEmpty.hidden = player.events.length > 0;
  ui.eventCount.textContent = String(player.events.length);
  player.current = -1;
  player.markersFor = -1;
}

function layoutMarkers() {
  const duration = player.duration || 1;
  const markers = player.events.map((event) => {
    const marker = el("span", {
      className: `replay-marker type-${event.event_type}`,
      attrs: { title: `${clock(event.offset_seconds)} ${event.event_type}: ${firstLine(event.content).slice(0, 120)}` },
    });
    marker.style.left = `${Math.min(100, (event.offset_seconds / duration) * 100)}%`;
    marker.addEventListener("click", () => seek(event.offset_seconds));
    return marker;
  });
  ui.markers.replaceChildren(...markers);
  player.markersFor = player.duration;
}

function highlightEvents() {
  // The last event at or before the position: binary search, the list can be long.
  let lo = 0;
  let hi = player.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (player.events[mid].offset_seconds <= player.position + 1e-6) lo = mid + 1;
    else hi = mid;
  }
  const current = lo - 1;
  if (current === player.current) return;
  const [from, to] = [Math.min(current, player.current), Math.max(current, player.current)];
  for (let i = Math.max(from, 0); i <= to && i < player.eventItems.length; i++) {
    player.eventItems[i].classList.toggle("reached", i <= current);
    player.eventItems[i].classList.remove("current");
  }
  if (player.current >= 0 && player.eventItems[player.current]) {
    player.eventItems[player.current].classList.remove("current");
  }
  player.current = current;
  if (current >= 0) {
    const item = player.eventItems[current];
    item.classList.add("current");
    item.scrollIntoView({ block: "nearest" });
  }
}

function render() {
  if (player.duration !== player.markersFor) layoutMarkers();
  ui.seek.max = String(player.duration);
  if (!player.dragging) ui.seek.value = String(player.position);
  ui.time.textContent = `${clock(player.position)} / ${clock(player.duration)}`;
  highlightEvents();
  const state = player.fetching && !player.frames.length ? "loading"
    : player.playing ? "playing" : player.ended ? "ended" : "paused";
  root.dataset.state = state;
  root.dataset.position = player.position.toFixed(3);
  if (state === "playing") showStatus(player.live && player.eof && player.head >= player.frames.length ? "live" : "");
  else if (state === "ended") showStatus("end of recording");
  else if (state === "paused" && ui.status.textContent === "seeking…") showStatus("");
}

// ---------------------------------------------------------------- wiring

ui.play.addEventListener("click", async () => {
  if (player.playing) {
    setPlaying(false);
  } else {
    if (player.ended) await seek(0);
    setPlaying(true);
  }
  render();
});
ui.speed.addEventListener("change", () => {
  player.speed = Number(ui.speed.value) || 1;
});
ui.seek.addEventListener("input", () => {
  player.dragging = true;
  ui.time.textContent = `${clock(Number(ui.seek.value))} / ${clock(player.duration)}`;
});
ui.seek.addEventListener("change", () => {
  player.dragging = false;
  seek(Number(ui.seek.value));
});
for (const button of document.querySelectorAll("[data-jump]")) {
  button.addEventListener("click", () => jump(button.dataset.jump, Number(button.dataset.direction)));
}
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea")) return;
  if (event.key === " ") {
    event.preventDefault();
    ui.play.click();
  }
});

async function main() {
  try {
    await refreshIndex();
  } catch (err) {
    showStatus(`could not load the session: ${err.message}`);
    return;
  }
  await seek(0);
  setPlaying(true);
  window.setInterval(tick, TICK_MS);
}

main();
