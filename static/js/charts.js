// Thin wrappers over the vendored uPlot for the dashboard's small charts.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { cssVar } from "./util.js";

function sizeOf(container, height) {
  return { width: Math.max(container.clientWidth, 200), height };
}

function axes() {
  const stroke = cssVar("--muted", "#667085");
  const grid = { stroke: cssVar("--border", "#e3e6eb"), width: 1 };
  return [
    { stroke, grid, ticks: grid },
    { stroke, grid, ticks: grid, size: 42 },
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
