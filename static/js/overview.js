// Overview: charts from the server's numbers, then kept current by the all-sessions stream.
import { timeChart } from "./charts.js";
import { LiveSocket } from "./live.js";
import { decisionControls } from "./prompt_actions.js";
import { $, cssVar, el, formatTime, jsonData, sessionUrl } from "./util.js";

const TYPES = ["error", "warning", "metric", "code_block", "prompt"];
const LIVE = new Set(["running", "waiting_for_input"]);
const STATUSES = new Set([...LIVE, "completed", "failed", "killed", "lost"]);

const perMinute = jsonData("per-minute-data");
const overTime = jsonData("sessions-over-time-data");

const sum = (values) => values.reduce((a, b) => a + b, 0);
const totalEvents = () => sum(TYPES.map((t) => sum(perMinute.series[t])));
const showHourTotals = () => {
  $("#events-last-hour").textContent = totalEvents();
  $("#errors-last-hour").textContent = sum(perMinute.series.error);
};
showHourTotals();
$("#sessions-last-day").textContent = sum(overTime.hourly.y);

const minuteChart = timeChart(
  $("#chart-per-minute"),
  perMinute.x,
  TYPES.map((t) => ({ label: t, color: cssVar(`--${t}`), values: perMinute.series[t] })),
  { height: 260 },
);
const accent = cssVar("--accent");
timeChart($("#chart-sessions-hourly"), overTime.hourly.x, [{ label: "sessions", color: accent, values: overTime.hourly.y }], { kind: "bars", height: 170, legend: false });
timeChart($("#chart-sessions-daily"), overTime.daily.x, [{ label: "sessions", color: accent, values: overTime.daily.y }], { kind: "bars", height: 170, legend: false });

// Live: count arriving events into the current minute (sliding the window when a minute ends).
let redraw = null;
function countEvents(events) {
  const nowMinute = Math.floor(Date.now() / 60000) * 60;
  while (perMinute.x[perMinute.x.length - 1] < nowMinute) {
    perMinute.x.push(perMinute.x[perMinute.x.length - 1] + 60);
    perMinute.x.shift();
    for (const t of TYPES) { perMinute.series[t].push(0); perMinute.series[t].shift(); }
  }
  for (const e of events) {
    if (perMinute.series[e.event_type]) perMinute.series[e.event_type][perMinute.x.length - 1] += 1;
  }
  if (!redraw) {
    redraw = requestAnimationFrame(() => {
      redraw = null;
      minuteChart.setData([perMinute.x, ...TYPES.map((t) => perMinute.series[t])]);
      showHourTotals();
    });
  }
}

const liveTable = $("#live-sessions");
const liveBody = liveTable.querySelector("tbody");
const liveCount = $("#live-count");
const liveRow = (sid) => liveBody.querySelector(`tr[data-session="${CSS.escape(sid)}"]`);
function updateLiveSession(sid, info) {
  let row = liveRow(sid);
  if (info.status && !LIVE.has(info.status)) {
    if (row) {
      row.remove();
      liveCount.textContent = Math.max(0, Number(liveCount.textContent) - 1);
    }
  } else if (!row && info.status) {
    liveBody.querySelector(".empty-row")?.remove();
    const link = el("a", { className: "mono", text: sid, attrs: { href: sessionUrl(liveTable.dataset.detailUrlTemplate, sid) } });
    row = el("tr", { attrs: { "data-session": sid } }, [
      el("td", {}, [link]),
      el("td", { text: info.agent_name || "" }),
      el("td", {}, [el("span", { className: `status status-${info.status}`, text: info.status, attrs: { "data-field": "status" } })]),
      el("td", {}, [el("span", { className: "cmd", text: info.command_line || "" })]),
      el("td", { className: "nowrap", text: info.started_at ? formatTime(info.started_at) : "" }),
      el("td", { className: "num", text: info.total_extraction_events ?? 0, attrs: { "data-field": "total", "data-upto": "0" } }),
    ]);
    liveBody.prepend(row);
    liveCount.textContent = Number(liveCount.textContent) + 1;
  } else if (row) {
    const status = row.querySelector('[data-field="status"]');
    if (info.status) { status.className = `status status-${info.status}`; status.textContent = info.status; }
  }
}

// The Events cell of a live session: the events stored when the page was made (up to seq
// data-upto), plus each one that arrives since.
function countLiveEvents(sid, events) {
  const cell = liveRow(sid)?.querySelector('[data-field="total"]');
  if (!cell) return;
  const upto = Number(cell.dataset.upto || 0);
  const fresh = events.filter((e) => Number(e.seq) > upto).length;
  if (fresh) cell.textContent = Number(cell.textContent || 0) + fresh;
}

// The tap's own total (every event it found, stored or not): replaces what was counted here.
function setLiveTotal(sid, total) {
  const cell = liveRow(sid)?.querySelector('[data-field="total"]');
  if (cell && total !== undefined && total !== null) cell.textContent = total;
}

// The two counters the server rendered, kept current: a session seen live for the first time
// has started since the page loaded (those live at load are in the table), and a new
// high-risk event waits for review.
const counted = new Set([...liveBody.querySelectorAll("tr[data-session]")].map((row) => row.dataset.session));
function countSession(sid, status) {
  if (counted.has(sid) || !LIVE.has(status)) return;
  counted.add(sid);
  const node = $("#sessions-last-day");
  node.textContent = Number(node.textContent || 0) + 1;
}

const highRisk = $("#stat-high-risk");
function countHighRisk(events) {
  const fresh = events.filter((e) => e.risk_level === "high" && e.review_status === "pending").length;
  if (!fresh) return;
  const value = highRisk.querySelector(".value");
  value.textContent = Number(value.textContent || 0) + fresh;
  highRisk.classList.add("alert");
}

// Programs blocked on a question, first on the page: added and removed as they start and stop
// waiting (the question itself is on the session page, which is one click away).
const waiting = $("#waiting-prompts");
const waitingList = $("#waiting-list");
function updateWaiting(sid, status, prompt) {
  const item = waitingList.querySelector(`li[data-session="${CSS.escape(sid)}"]`);
  if (status !== "waiting_for_input") {
    item?.remove();
  } else if (!item || (prompt && item.dataset.seq !== String(prompt.seq))) {
    // A new question (or the session's next one): its own item, with its own buttons.
    item?.remove();
    const url = sessionUrl(waiting.dataset.detailUrlTemplate, sid);
    const parts = [
      el("span", { className: "status status-waiting_for_input", text: "waiting" }),
      el("a", { className: "mono clip", text: sid, attrs: { href: url, title: sid } }),
      el("span", { className: "question", text: prompt?.question || "The program is waiting for input." }),
      el("a", { className: "button", text: "Answer →", attrs: { href: `${url}#prompt-panel` } }),
    ];
    const controls = decisionControls(sid, prompt);
    if (controls) parts.push(controls);
    waitingList.prepend(el("li", { attrs: { "data-session": sid, "data-seq": prompt ? String(prompt.seq) : "" } }, parts));
  }
  waiting.hidden = !waitingList.childElementCount;
}

new LiveSocket({
  onEvents: (sid, events, replay) => {
    countEvents(events);
    countLiveEvents(sid, events);
    if (!replay) countHighRisk(events);
  },
  onState: (sid, states, info) => {
    const lifecycle = states.filter((s) => STATUSES.has(s.state));
    const status = info?.status || lifecycle[lifecycle.length - 1]?.state;
    if (status) {
      countSession(sid, status);
      updateLiveSession(sid, { ...(info || {}), status });
      const asked = [...lifecycle].reverse().find((s) => s.state === "waiting_for_input");
      updateWaiting(sid, status, asked?.metadata);
    }
    setLiveTotal(sid, info?.total_extraction_events);
  },
}).connect().subscribeAll();
