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
    scales: { x: { time: true } },
    axes: axes(),
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        fill: kind === "bars" ? s.color + "cc" : s.color + "1a",
        width: kind === "bars" ? 0 : 1.5,
        paths,
        points: { show: false },
      })),
    ],
  };
  const plot = new uPlot(opts, [x, ...series.map((s) => s.values)], container);
  keepSized(plot, container, height);
  return plot;
}
