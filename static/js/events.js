// Events history: the server renders the filtered first page; new events that match the same
// filters (applied here exactly as the server applies them) are added on top as they happen.
import { LiveSocket } from "./live.js";
import { $, exceptionLine, formatTime, jsonData, sessionUrl, setAnsiText } from "./util.js";

const MAX_LIVE_ROWS = 500;
const filters = jsonData("event-filters-data");
const body = $("#events-body");
const template = $("#event-row-template");
const detailUrl = $("#events-page").dataset.detailUrlTemplate;
const since = filters.since ? Date.parse(filters.since) : null;
const until = filters.until ? Date.parse(filters.until) : null;
const q = filters.q.toLowerCase();
let added = 0;

export function matches(e) {
  if (filters.agent && e.agent_name !== filters.agent) return false;
  if (filters.session && e.session !== filters.session) return false;
  if (filters.type && e.event_type !== filters.type) return false;
  if (filters.severity && e.severity !== filters.severity) return false;
  if (filters.risk && e.risk_level !== filters.risk) return false;
  if (filters.review && e.review_status !== filters.review) return false;
  const at = Date.parse(e.timestamp);
  if (since !== null && at < since) return false;
  if (until !== null && at > until) return false;
  if (q && !String(e.content).toLowerCase().includes(q) && !String(e.rule).toLowerCase().includes(q)) return false;
  return true;
}

function row(e) {
  const tr = template.content.firstElementChild.cloneNode(true);
  const field = (name) => tr.querySelector(`[data-field="${name}"]`);
  tr.dataset.session = e.session;
  tr.dataset.seq = e.seq;
  field("time").setAttribute("datetime", e.timestamp);
  field("time").textContent = formatTime(e.timestamp);
  field("session").textContent = e.session;
  field("session").setAttribute("href", sessionUrl(detailUrl, e.session));
  field("agent").textContent = e.agent_name;
  field("agent").title = e.agent_name;
  field("session").title = e.session;
  field("type").textContent = e.event_type;
  field("type").classList.add(`type-${e.event_type}`);
  field("rule").textContent = e.rule;
  field("severity").textContent = e.severity;
  field("severity").className = `sev-${e.severity}`;
  field("risk").textContent = e.risk_level;
  field("risk").classList.add(`risk-${e.risk_level}`);
  field("review").textContent = e.review_status;
  field("review").className = `review-${e.review_status}`;
  field("lines").textContent = e.line_end !== e.line_start ? `${e.line_start}–${e.line_end}` : e.line_start;
  field("lines").setAttribute("href", `${sessionUrl(detailUrl, e.session)}?event=${e.seq}`);
  const headline = exceptionLine(e);
  field("headline").textContent = headline;
  field("headline").hidden = !headline;
  setAnsiText(field("content"), e.content);
  setAnsiText(field("context"), e.context || "");
  tr.classList.add("fresh");
  return tr;
}

if (body.dataset.live === "on") {
  const note = $("#events-live-note");
  new LiveSocket({
    onEvents: (sid, events, replay) => {
      if (replay) return; // resync replays fill gaps of sessions this page already shows
      const fresh = events.filter(matches);
      if (!fresh.length) return;
      if (added >= MAX_LIVE_ROWS) {
        note.textContent = "many new events: reload to see the newest";
        return;
      }
      body.querySelector(".empty-row")?.remove();
      const fragment = document.createDocumentFragment();
      for (const e of fresh.reverse()) {
        if (body.querySelector(`tr[data-session="${CSS.escape(e.session)}"][data-seq="${e.seq}"]`)) continue;
        fragment.append(row(e));
        added += 1;
      }
      body.prepend(fragment);
    },
  }).connect().subscribeAll();
}
