// Every page: the header's "N waiting" badge and the tab title's "(N)", kept current by the
// all-sessions stream (state changes only), and an optional browser notification when a
// program starts waiting (asked once, by a button, never on load; the choice is remembered).
import { LiveSocket } from "./live.js";
import { $, jsonData, sessionUrl } from "./util.js";

const badge = $("#waiting-badge");
const count = $("#waiting-count");
const notifyToggle = $("#notify-toggle");
const waiting = new Set(jsonData("waiting-ids") || []);
const NOTIFY_KEY = "streamtap.notify";
const TITLE_COUNT = /^\(\d+\) /;
const LIFECYCLE = new Set(["running", "waiting_for_input", "completed", "failed", "killed", "lost"]);

// The server counted beyond the ids it listed (a hundred); the live changes adjust that count.
let extra = Math.max(0, Number(badge?.dataset.count || 0) - waiting.size);

function show() {
  const n = waiting.size + extra;
  if (count) count.textContent = String(n);
  if (badge) {
    badge.hidden = n === 0;
    badge.dataset.count = String(n);
    // One waiting program: straight to its question; more: the list of them.
    badge.href = n === 1 && waiting.size === 1
      ? `${sessionUrl(badge.dataset.detailUrlTemplate, [...waiting][0])}#prompt-panel`
      : badge.dataset.listUrl;
  }
  const title = document.title.replace(TITLE_COUNT, "");
  document.title = n ? `(${n}) ${title}` : title;
}

function notifyWanted() {
  return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
}

function notify(sid, metadata) {
  if (!notifyWanted()) return;
  const question = (metadata && metadata.question) || "The program is waiting for input.";
  // The text is shown by the browser as plain text; the tag keeps one notice per session.
  const notice = new Notification("streamtap: a program waits for an answer", { body: `${sid}\n${question}`, tag: `streamtap-${sid}` });
  notice.onclick = () => {
    window.focus();
    location.assign(`${sessionUrl(badge.dataset.detailUrlTemplate, sid)}#prompt-panel`);
  };
}

function setupNotifyToggle() {
  if (!notifyToggle || !("Notification" in window)) return;
  const refresh = () => {
    const on = notifyWanted();
    // Offered while the browser can still ask, or to switch notifications back on/off.
    notifyToggle.hidden = Notification.permission === "denied";
    notifyToggle.textContent = on ? "Notifications on" : "Notify me";
    notifyToggle.setAttribute("aria-pressed", on ? "true" : "false");
  };
  notifyToggle.addEventListener("click", async () => {
    if (notifyWanted()) {
      localStorage.setItem(NOTIFY_KEY, "off");
    } else {
      const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      localStorage.setItem(NOTIFY_KEY, answer === "granted" ? "on" : "off");
    }
    refresh();
  });
  refresh();
}

function onState(sid, states, info) {
  const lifecycle = states.filter((s) => LIFECYCLE.has(s.state));
  const status = info?.status || lifecycle[lifecycle.length - 1]?.state;
  if (!status) return;
  if (status === "waiting_for_input") {
    if (!waiting.has(sid)) {
      waiting.add(sid);
      const asked = [...lifecycle].reverse().find((s) => s.state === "waiting_for_input");
      notify(sid, asked?.metadata);
    }
  } else {
    waiting.delete(sid);
  }
  show();
}

// After a reconnect, state changes may have been missed: ask the API who waits now.
async function reload() {
  try {
    const response = await fetch(`${badge.dataset.apiUrl}?status=waiting_for_input&limit=100`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    const rows = data.results || [];
    waiting.clear();
    for (const row of rows) waiting.add(row.session_id);
    extra = data.next ? 1 : 0;
    show();
  } catch {
    // The next reconnect tries again.
  }
}

class StateSocket extends LiveSocket {
  constructor(handlers) {
    super(handlers);
    // The header's "live" dot is the page's own stream (tests and people read "open" as
    // "this page's updates arrive"): this side socket leaves it alone.
    this.indicator = null;
  }

  subscribeStates() {
    this.wantStates = true;
    this.send({ action: "subscribe", scope: "all", events: false });
    return this;
  }

  resubscribe() {
    super.resubscribe();
    if (this.wantStates) this.queue.unshift({ action: "subscribe", scope: "all", events: false });
  }
}

setupNotifyToggle();
show();
new StateSocket({ onState, onReconnect: reload }).connect().subscribeStates();
