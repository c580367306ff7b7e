// Thin wrappers over the vendored uPlot for the dashboard's small charts.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { cssVar } from "./util.js";

function sizeOf(container, height) {
  return { width: Math.max(container.clientWidth, 200), height };
}

// y labels: 1.2M, 35k, 0.412 (a fixed 42 px showed only the ",000" of "12,000").
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 3 });

function yLabels(u, splits) {
  return splits.map((v) => (v === null || v === undefined ? "" : compact.format(v)));
}

// The y axis as wide as its longest label (uPlot's recipe: measure with the axis's font).
function yAxisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  u.ctx.font = axis.font[0];
  if (longest) size += u.ctx.measureText(longest).width / devicePixelRatio;
  // The first x label is centred on its tick, which may sit at the plot's left edge: the axis
  // is at least half the widest time label wide, or a chart of small values ("0", "1") cut it.
  const halfTime = u.ctx.measureText(WIDEST_TIME).width / devicePixelRatio / 2 + 2;
  // uPlot asks again while sizes settle, and the labels can grow between rounds (a shorter plot
  // gets other ticks): never shrink, so the rounds end and no label is cut at the left edge.
  const wanted = Math.max(Math.ceil(size) + 6, Math.ceil(halfTime));
  return cycleNum > 1 ? Math.max(axis._size || 0, wanted) : wanted;
}

// x labels on one line, as precise as the tick spacing needs: uPlot's two-line default put a
// full date under the first tick, which ran off the chart's left edge in a narrow card.
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const secondsFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const WIDEST_TIME = secondsFormat.format(new Date(2000, 11, 28, 23, 58, 58));

function xLabels(u, splits, axisIdx, space, incr) {
  const format = incr >= 86400 ? dayFormat : incr < 60 ? secondsFormat : clockFormat;
  return splits.map((t) => format.format(new Date(t * 1000)));
}

function axes() {
  const stroke = cssVar("--muted", "#667085");
  const grid = { stroke: cssVar("--border", "#e3e6eb"), width: 1 };
  return [
    { stroke, grid, ticks: grid, values: xLabels, space: 70 },
    { stroke, grid, ticks: grid, size: yAxisSize, values: yLabels },
  ];
}

function keepSized(plot, container, height) {
  new ResizeObserver(() => plot.setSize(sizeOf(container, height))).observe(container);
}

// The x range: bars get half a slot of room at either end (the first bar was drawn over the y
// axis), and a single point or a burst of a few seconds is shown over a minute around it (uPlot
// spread one point over years, or labelled the ticks in fractions of a second).
function timeRange(bars) {
  return (u, min, max) => {
    if (min == null || max == null) return [min, max];
    const xs = u.data[0];
    const n = xs.length;
    // uPlot widens a lone time value to a day before asking: centre on the value itself.
    if (n === 1) return [xs[0] - 30, xs[0] + 30];
    const pad = bars ? (max - min) / (n - 1) / 2 : 0;
    const [lo, hi] = [min - pad, max + pad];
    if (hi - lo >= 60) return [lo, hi];
    const mid = (lo + hi) / 2;
    return [mid - 30, mid + 30];
  };
}

/**
 * A time chart: x in unix seconds, one series per entry of `series`
 * ([{label, color, values}]). `kind` is "line" or "bars".
 */
export function timeChart(container, x, series, { height = 200, kind = "line", legend = true } = {}) {
  const paths = kind === "bars" ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined;
  const opts = {
    ...sizeOf(container, height),
    legend: { show: legend },
    // Room right of the plot for half of the last time label, which is centred on its tick.
    padding: [12, 40, 0, 0],
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: timeRange(kind === "bars") } },
    axes: axes(),
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        fill: kind === "bars" ? s.color + "cc" : s.color + "1a",
        width: kind === "bars" ? 0 : 1.5,
        paths,
        // A line needs two points: a lone value (or two) is drawn as dots.
        points: { show: kind === "bars" ? false : (u) => u.data[0].length <= 2 },
      })),
    ],
  };
  const plot = new uPlot(opts, [x, ...series.map((s) => s.values)], container);
  keepSized(plot, container, height);
  return plot;
}
