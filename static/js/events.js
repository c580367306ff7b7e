// Events history: the server renders the filtered first page and its count; new events that
// match the same filters (applied here exactly as the server applies them: extraction/filters.py)
// are added on top as they happen. Times are shown and picked in the browser's zone and sent
// to the server with its offset, so the page and the API read them the same way.
import { LiveSocket } from "./live.js";
import { setUpMomentPickers } from "./moment_pickers.js";
import {
  $,
  $all,
  exceptionLine,
  formatTime,
  formatUtc,
  jsonData,
  sessionUrl,
  setAnsiText,
} from "./util.js";

const MAX_LIVE_ROWS = 500;
const filters = jsonData("event-filters-data");
const body = $("#events-body");
const template = $("#event-row-template");
const pageData = $("#events-page").dataset;
const detailUrl = pageData.detailUrlTemplate;
const since = filters.since ? Date.parse(filters.since) : null;
const until = filters.until ? Date.parse(filters.until) : null;
const q = filters.q.toLowerCase();
let added = 0;

// `since` inclusive, `until` exclusive, as on the server.
export function matches(e) {
  if (filters.agent && e.agent_name !== filters.agent) return false;
  if (filters.session && e.session !== filters.session) return false;
  if (filters.type && e.event_type !== filters.type) return false;
  if (filters.severity && e.severity !== filters.severity) return false;
  if (filters.risk && e.risk_level !== filters.risk) return false;
  if (filters.review && e.review_status !== filters.review) return false;
  if (filters.rule && e.rule !== filters.rule) return false;
  // The live feed's events name no group (it is stored by the writer): a list of one
  // problem's occurrences shows new ones on reload, never one of another problem.
  if (filters.group && e.group !== filters.group) return false;
  const at = Date.parse(e.timestamp);
  if (since !== null && at < since) return false;
  if (until !== null && at >= until) return false;
  if (q && !String(e.content).toLowerCase().includes(q) && !String(e.rule).toLowerCase().includes(q)) return false;
  return true;
}

// A link to this page with the current filters and one more (a rule or a problem).
function filterLink(name, value) {
  const params = new URLSearchParams(pageData.rowQuery);
  params.set(name, value);
  return `?${params}`;
}

function row(e) {
  const tr = template.content.firstElementChild.cloneNode(true);
  const field = (name) => tr.querySelector(`[data-field="${name}"]`);
  tr.dataset.session = e.session;
  tr.dataset.seq = e.seq;
  field("time").setAttribute("datetime", e.timestamp);
  field("time").textContent = formatTime(e.timestamp);
  field("time").title = formatUtc(e.timestamp);
  field("session").textContent = e.session;
  field("session").setAttribute("href", sessionUrl(detailUrl, e.session));
  field("agent").textContent = e.agent_name;
  field("agent").title = e.agent_name;
  field("session").title = e.session;
  field("type").textContent = e.event_type;
  field("type").classList.add(`type-${e.event_type}`);
  field("rule").textContent = e.rule;
  field("rule").setAttribute("href", filterLink("rule", e.rule));
  if (e.group) {
    field("group").setAttribute("href", filterLink("group", e.group));
    field("group").title = `Only this problem (${e.group})`;
    field("group").hidden = false;
  }
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

// The count above the list follows the rows added live (unless it was cut at its cap).
function countAdded(n) {
  const count = $("#events-count");
  if (!count || count.dataset.capped === "true") return;
  const figure = count.querySelector('[data-field="count"]');
  const total = Number(figure.textContent.replace(/[^0-9]/g, "")) + n;
  figure.textContent = total.toLocaleString("en-US");
  count.querySelector('[data-field="plural"]').textContent = total === 1 ? "" : "s";
}

// Pickers: shown in the browser's zone, sent with its offset. Picking a time ends a preset.
setUpMomentPickers($("#event-filters"), {
  onPick: () => {
    $("#range-input")?.remove();
    for (const link of $all(".presets [aria-current]")) link.removeAttribute("aria-current");
  },
});

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
      let n = 0;
      for (const e of fresh.reverse()) {
        if (body.querySelector(`tr[data-session="${CSS.escape(e.session)}"][data-seq="${e.seq}"]`)) continue;
        fragment.append(row(e));
        added += 1;
        n += 1;
      }
      body.prepend(fragment);
      countAdded(n);
    },
  }).connect().subscribeAll();
}
