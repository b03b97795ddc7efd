// A small SVG line chart: time on x, one or more series on y, an optional dashed target line.
// Plain SVG keeps the console free of a charting library; it redraws whole on every update.

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 520;
const HEIGHT = 200;
const PAD = { left: 48, right: 12, top: 28, bottom: 24 };
export const COLOURS = ["#1f6feb", "#b54708", "#067647", "#7a5af8"];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// series: [{name, points: [[ms, value], ...]}]; format: value → axis text.
export function lineChart({ title, series, target = null, format = String, yMin = 0, yMax }) {
  const all = series.flatMap((s) => s.points);
  const times = all.map(([t]) => t);
  const t0 = Math.min(...times, Date.now());
  const t1 = Math.max(...times, t0 + 1000);
  const values = all.map(([, y]) => y).concat(target === null ? [] : [target]);
  const top = yMax ?? Math.max(yMin + 1e-9, ...values) * 1.15;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - ((v - yMin) / (top - yMin)) * (HEIGHT - PAD.top - PAD.bottom);

  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title });
  root.append(svg("text", { x: PAD.left, y: 16, "font-size": 13, "font-weight": 600 }, title));
  for (const tick of [yMin, (yMin + top) / 2, top]) {
    root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick),
      stroke: "#eef2f6" }));
    root.append(svg("text", { x: PAD.left - 6, y: y(tick) + 4, "font-size": 10,
      "text-anchor": "end", fill: "#5d6878" }, format(tick)));
  }
  if (target !== null) {
    root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(target), y2: y(target),
      stroke: "#b42318", "stroke-dasharray": "4 3", class: "target" }));
    root.append(svg("text", { x: WIDTH - PAD.right, y: y(target) - 4, "font-size": 10,
      "text-anchor": "end", fill: "#b42318" }, `target ${format(target)}`));
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (s.points.length) {
      const path = s.points.map(([t, v], j) => `${j ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      root.append(svg("path", { d: path.join(" "), fill: "none", stroke: colour,
        "stroke-width": 2, class: "series", "data-points": s.points.length }));
      // The newest point as a dot: a series of one point (or a flat one) is still seen.
      const [t, v] = s.points[s.points.length - 1];
      root.append(svg("circle", { cx: x(t), cy: y(v), r: 3, fill: colour, class: "latest" }));
    }
    root.append(svg("text", { x: PAD.left + 8 + i * 110, y: HEIGHT - 6, "font-size": 10,
      fill: colour }, s.name));
  });
  return root;
}
