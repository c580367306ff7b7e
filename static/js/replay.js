// The replay page: a recorded session in xterm.js with play/pause, speed, a seek bar with event
// markers, jumps between errors and prompts, and the event list following playback.
//
// The player keeps its own clock. It asks the server for the screen at a time offset and the
// lines after it (range?start=T), then for more by cursor (range?cursor=C) while it plays; at
// the end of a live recording it polls the same way. Pausing, changing speed and skipping idle
// time are local; a seek is one small request whatever the length of the recording.
import { TerminalFit, recordingTerminal } from "./terminal_fit.js";
import { $, copyOnClick, el, eventPreview } from "./util.js";

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

const term = recordingTerminal(root.dataset, { scrollback: 5000 });
term.open($("#replay-terminal"));
const fit = new TerminalFit(term, $(".replay-player"), { mode: root.dataset.mode, rows: term.rows, minRows: 24 });
fit.fit();

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
  seekTarget: null, // where the seek in flight goes
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
  player.seekTarget = t;
  const generation = ++player.generation;
  player.fetching = true;
  showStatus("seeking…");
  try {
    const body = await getJSON(withParams(rangeUrl, { start: t.toFixed(3) }));
    if (generation !== player.generation) return;
    term.reset();
    if (body.cols !== fit.cols || body.rows !== fit.rows) fit.resized(body.cols, body.rows);
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
    if (generation === player.generation) {
      player.fetching = false;
      player.seekTarget = null;
    }
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
      if (cols > 0 && rows > 0) fit.resized(cols, rows);
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

// The event last jumped to (by a button, a key, a click in the list or on a marker). Steps go
// by its index in the list, not by time: events sharing a timestamp are each a step (by time,
// "next" from the first of them skipped the others).
let lastJump = { index: -1, at: 0 };

function jumpIsCurrent() {
  const event = player.events[lastJump.index];
  if (!event) return false;
  // Still at it, or it was a moment ago (at 16× playback moves on many seconds in a moment).
  return Math.abs(player.position - event.offset_seconds) < 0.05 || performance.now() - lastJump.at < 3000;
}

// The number of events before `t` (all of them strictly earlier).
function eventsBefore(t) {
  let lo = 0;
  let hi = player.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (player.events[mid].offset_seconds < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function jump(type, direction) {
  const fits = (e) => type === "any" || e.event_type === type;
  const current = jumpIsCurrent() ? lastJump.index : -1;
  let target = -1;
  if (direction > 0) {
    const from = Math.max(current + 1, current >= 0 ? 0 : eventsBefore(player.position - 0.001));
    for (let i = from; i < player.events.length; i++) if (fits(player.events[i])) { target = i; break; }
  } else {
    // Back means before the event just jumped to, or before the last quarter second played.
    const before = current >= 0 ? current : eventsBefore(player.position - 0.25);
    for (let i = before - 1; i >= 0; i--) if (fits(player.events[i])) { target = i; break; }
  }
  const what = type === "any" ? "event" : type;
  if (target < 0) {
    showStatus(`no ${direction > 0 ? "next" : "previous"} ${what}`);
    return;
  }
  goToEvent(target);
}

function goToEvent(index) {
  lastJump = { index, at: performance.now() };
  player.current = -2; // redraw the highlight for this event, even among others at its time
  seek(player.events[index].offset_seconds);
}

// `.`: one frame of output at a time, paused.
function stepFrame() {
  if (player.playing) setPlaying(false);
  const next = player.frames[player.head];
  if (!next) {
    showStatus(player.eof ? "end of recording" : "buffering…");
    return;
  }
  player.position = next[0];
  writeDue();
  render();
}

function seekBy(seconds) {
  // From where the last seek is going: two quick presses of ← are ten seconds back.
  const from = player.seekTarget ?? player.position;
  seek(Math.max(0, Math.min(from + seconds, player.duration)));
}

function toggleFullscreen() {
  const box = $(".replay-player");
  if (document.fullscreenElement) document.exitFullscreen();
  else box.requestFullscreen?.().catch(() => showStatus("fullscreen is not allowed here"));
}

// ---------------------------------------------------------------- view

// m:ss.t (tenths: events a fraction of a second apart must be told apart).
function clock(seconds) {
  const tenths = Math.max(0, Math.floor(seconds * 10 + 1e-6));
  const whole = Math.floor(tenths / 10);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = `${String(whole % 60).padStart(2, "0")}.${tenths % 10}`;
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
      el("span", { className: "what", text: firstLine(eventPreview(event)) }),
    ]);
    return item;
  });
  player.eventItems.forEach((item, index) => item.addEventListener("click", () => goToEvent(index)));
  ui.events.replaceChildren(...player.eventItems);
  ui.eventsEmpty.hidden = player.events.length > 0;
  ui.eventCount.textContent = String(player.events.length);
  player.current = -1;
  player.markersFor = -1;
}

function layoutMarkers() {
  const duration = player.duration || 1;
  const markers = player.events.map((event, index) => {
    const marker = el("span", {
      className: `replay-marker type-${event.event_type}`,
      attrs: { title: `${clock(event.offset_seconds)} ${event.event_type}: ${firstLine(eventPreview(event)).slice(0, 120)}` },
    });
    marker.style.left = `${Math.min(100, (event.offset_seconds / duration) * 100)}%`;
    marker.addEventListener("click", () => goToEvent(index));
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
  let current = lo - 1;
  // Among events at one time, the one jumped to is the current one.
  const jumped = player.events[lastJump.index];
  if (jumped && jumped.offset_seconds <= player.position + 1e-6 && player.position - jumped.offset_seconds < 0.05) {
    current = lastJump.index;
  }
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
  root.dataset.eventIndex = String(current);
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
// asciinema-player's keys.
const KEYS = {
  " ": () => ui.play.click(),
  ArrowLeft: () => seekBy(-5),
  ArrowRight: () => seekBy(5),
  ".": stepFrame,
  f: toggleFullscreen,
  "[": () => jump("any", -1),
  "]": () => jump("any", 1),
};
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  // Menus keep their keys, a focused button its space, the seek bar its arrows. The terminal's
  // own (read-only) text area is the player: its keys are ours.
  if (target.closest("select") || (target.matches("textarea") && !target.closest("#replay-terminal"))) return;
  if (target.matches("input") && !["checkbox", "range"].includes(target.type)) return;
  if (target.matches("button") && event.key === " ") return;
  if (target.type === "range" && event.key.startsWith("Arrow")) return;
  let action = KEYS[event.key];
  if (!action && /^[0-9]$/.test(event.key)) action = () => seek((player.duration * Number(event.key)) / 10);
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  action();
}, true); // before xterm, which takes the keys its focused text area receives
copyOnClick($("#replay-copy-link"), () => {
  const url = new URL(window.location.href);
  url.searchParams.set("t", player.position.toFixed(1));
  return url.toString();
});

async function main() {
  try {
    await refreshIndex();
  } catch (err) {
    showStatus(`could not load the session: ${err.message}`);
    return;
  }
  // ?t=SECONDS opens the recording paused at that moment (a link to "what happened here").
  const start = Number(new URLSearchParams(window.location.search).get("t"));
  if (Number.isFinite(start) && start > 0) {
    await seek(start);
    setPlaying(false);
    showStatus(`paused at ${clock(player.position)}: press space to play`);
  } else {
    await seek(0);
    setPlaying(true);
  }
  window.setInterval(tick, TICK_MS);
}

main();
