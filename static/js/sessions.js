// Sessions list: status, counts and durations kept current by the all-sessions stream; a
// session that starts while the page is open is added on top when it matches the filters.
import { LiveSocket } from "./live.js";
import { decisionControls } from "./prompt_actions.js";
import { $, durationBetween, el, formatDuration, formatTime, jsonData, sessionUrl } from "./util.js";

const STATUSES = new Set(["running", "waiting_for_input", "completed", "failed", "killed", "lost"]);
const LIVE = new Set(["running", "waiting_for_input"]);
const filters = jsonData("session-filters");
const table = $("#sessions-table");
const body = table.querySelector("tbody");
const template = $("#session-row-template");
const detailUrl = $("#sessions-page").dataset.detailUrlTemplate;
const firstPage = table.dataset.page === "1";

const rowFor = (sid) => body.querySelector(`tr[data-session="${CSS.escape(sid)}"]`);
const field = (row, name) => row.querySelector(`[data-field="${name}"]`);

function renderCounts(row, counts) {
  const chips = Object.entries(counts || {}).map(([type, n]) =>
    el("span", { className: `badge type-${type}`, text: `${type} ${n}`, attrs: { title: type } }));
  field(row, "counts").replaceChildren(...chips);
  row.counts = { ...(counts || {}) };
}

function countsOf(row) {
  if (!row.counts) {
    row.counts = {};
    for (const chip of field(row, "counts").children) {
      const [type, n] = chip.textContent.split(" ");
      row.counts[type] = Number(n) || 0;
    }
  }
  return row.counts;
}

function refreshDuration(row) {
  const status = field(row, "status").textContent;
  if (!row.dataset.ended && !LIVE.has(status)) return;
  field(row, "duration").textContent = formatDuration(durationBetween(row.dataset.started, row.dataset.ended));
}

function matchesFilters(sid, info) {
  if (!firstPage) return false;
  if (filters.agent && info.agent_name !== filters.agent) return false;
  if (filters.status && info.status !== filters.status) return false;
  if (filters.date && !(info.started_at || "").startsWith(filters.date)) return false;
  if (filters.q) {
    const q = filters.q.toLowerCase();
    if (!sid.toLowerCase().includes(q) && !(info.command_line || "").toLowerCase().includes(q)) return false;
  }
  return true;
}

function addRow(sid, info) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.session = sid;
  row.dataset.agent = info.agent_name || "";
  row.dataset.started = info.started_at || new Date().toISOString();
  const link = field(row, "link");
  link.textContent = sid;
  link.setAttribute("href", sessionUrl(detailUrl, sid));
  field(row, "agent").textContent = info.agent_name || "";
  field(row, "agent").title = info.agent_name || "";
  link.title = sid;
  field(row, "command").textContent = info.command_line || "";
  field(row, "command").title = info.command_line || "";
  const started = field(row, "started");
  started.setAttribute("datetime", row.dataset.started);
  started.textContent = formatTime(row.dataset.started);
  body.querySelector(".empty-row")?.remove();
  body.prepend(row);
  row.classList.add("fresh");
  return row;
}

// Approve / Deny beside "waiting_for_input" (staff), for the prompt the program waits at now.
function showDecision(row, status, prompt) {
  const cell = field(row, "status").parentElement;
  const current = cell.querySelector(".row-decide");
  if (status !== "waiting_for_input") {
    // Buttons go when the program stops waiting; an answer given here stays said.
    if (current?.querySelector("button")) current.remove();
    return;
  }
  if (!prompt || (current && current.dataset.seq === String(prompt.seq))) return;
  current?.remove();
  const controls = decisionControls(row.dataset.session, prompt);
  if (controls) cell.append(controls);
}

function update(sid, info, prompt) {
  let row = rowFor(sid);
  if (!row) {
    if (!info.status || !matchesFilters(sid, info)) return;
    row = addRow(sid, info);
  }
  if (info.status) {
    const status = field(row, "status");
    status.className = `status status-${info.status}`;
    status.textContent = info.status;
  }
  if (info.ended_at) row.dataset.ended = info.ended_at;
  else if (info.status && !LIVE.has(info.status) && !row.dataset.ended) row.dataset.ended = new Date().toISOString();
  if (info.exit_code !== undefined && info.exit_code !== null) field(row, "exit").textContent = info.exit_code;
  if (info.event_counts) renderCounts(row, info.event_counts);
  if (info.status) showDecision(row, info.status, prompt);
  refreshDuration(row);
}

for (const row of body.querySelectorAll("tr[data-session]")) refreshDuration(row);
setInterval(() => {
  for (const row of body.querySelectorAll("tr[data-session]")) refreshDuration(row);
}, 1000);

new LiveSocket({
  onEvents: (sid, events, replay) => {
    const row = rowFor(sid);
    if (!row || replay) return;
    // Counts between two state frames: the next session_info replaces them with the truth.
    const counts = countsOf(row);
    for (const e of events) counts[e.event_type] = (counts[e.event_type] || 0) + 1;
    renderCounts(row, counts);
  },
  onState: (sid, states, info) => {
    const lifecycle = states.filter((s) => STATUSES.has(s.state));
    const last = lifecycle[lifecycle.length - 1];
    const merged = { ...(info || {}) };
    if (!merged.status && last) merged.status = last.state;
    if (last && last.metadata && "exit_code" in last.metadata && merged.exit_code === undefined) {
      merged.exit_code = last.metadata.exit_code;
    }
    const asked = [...lifecycle].reverse().find((s) => s.state === "waiting_for_input");
    update(sid, merged, asked?.metadata);
  },
}).connect().subscribeAll();
