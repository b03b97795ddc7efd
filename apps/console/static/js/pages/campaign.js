import { api } from "../api.js";
import { h, table } from "../dom.js";
import { lineChart } from "../chart.js";
import { count, percent } from "../format.js";
import { showProblem } from "../app.js";
import { importForm } from "./import.js";

const POLL_MS = 2000;
const KEEP_POINTS = 900; // 30 minutes at one point every 2 s
const MOVES = { draft: ["start"], running: ["pause"], paused: ["resume"], completed: [] };

export async function render(view, [id]) {
  let campaign = await api(`/v1/campaigns/${id}`);
  const history = { occupancy: [], dialRate: [], answerRate: [], hour: [], today: [], days30: [] };
  let previous = null;
  const header = h("div");
  const tiles = h("div", { class: "tiles" });
  const charts = h("div", { class: "charts" });
  const counts = h("div");
  view.append(header, h("h2", {}, "Live"), tiles, charts, h("h2", {}, "Contacts"), counts,
    h("h2", {}, "Import contacts"), importForm(id, () => refreshCounts()),
    h("p", {}, h("a", { href: `#/calls?campaign_id=${id}` }, "This campaign's calls →")));

  function drawHeader() {
    header.replaceChildren(h("h1", {}, campaign.name, " ",
      h("span", { class: `state ${campaign.state}`, id: "campaign-state" }, campaign.state)),
    h("p", { class: "muted" }, `Pacing ${campaign.pacing.mode}, abandon target `,
      percent(campaign.pacing.abandon_target), " ",
      MOVES[campaign.state].map((move) => h("button", { type: "button", onclick: async () => {
        try {
          campaign = await api(`/v1/campaigns/${id}/${move}`, { method: "POST" });
          drawHeader();
        } catch (error) { showProblem(error); }
      } }, move))));
  }

  async function refreshCounts() {
    const c = await api(`/v1/campaigns/${id}/contacts/counts`);
    counts.replaceChildren(table(["Total", ...Object.keys(c.states)],
      [h("tr", {}, h("td", {}, count(c.total)), Object.values(c.states).map((n) => h("td", {}, count(n))))]));
  }

  async function poll() {
    const stats = await api(`/v1/campaigns/${id}/stats`);
    const now = Date.now();
    const target = stats.abandon_target;
    const [hour, today, days30] = [stats.last_hour, stats.today, stats.last_30_days];
    const push = (series, value) => {
      if (value === null || value === undefined) return;
      series.push([now, value]);
      if (series.length > KEEP_POINTS) series.shift();
    };
    if (previous) {
      const minutes = (now - previous.at) / 60000;
      push(history.dialRate, Math.max(0, days30.dials - previous.dials) / minutes);
    }
    previous = { at: now, dials: days30.dials };
    push(history.occupancy, stats.occupancy);
    push(history.answerRate, hour.answer_rate);
    push(history.hour, hour.abandon_rate);
    push(history.today, today.abandon_rate);
    push(history.days30, days30.abandon_rate);
    const tile = (name, value, over = false) => h("div", { class: over ? "tile over" : "tile",
      "data-stat": name }, h("div", { class: "label" }, name), h("div", { class: "value" }, value));
    tiles.replaceChildren(
      tile("Dials today", count(today.dials)),
      tile("Live answers today", count(today.live_answers)),
      tile("Answer rate, last hour", percent(hour.answer_rate)),
      tile("Abandon, last hour", percent(hour.abandon_rate), hour.over_target),
      tile("Abandon, today", percent(today.abandon_rate), today.over_target),
      tile("Abandon, 30 days", percent(days30.abandon_rate), days30.over_target),
      tile("Occupancy", percent(stats.occupancy)),
      tile("Busy slots", count(stats.busy_slots)));
    charts.replaceChildren(
      h("div", { class: "chart", id: "chart-occupancy" }, lineChart({ title: "Occupancy",
        series: [{ name: "occupancy", points: history.occupancy }], yMax: 1, format: (v) => percent(v, 0) })),
      h("div", { class: "chart", id: "chart-dial-rate" }, lineChart({ title: "Dials per minute",
        series: [{ name: "dials/min", points: history.dialRate }], format: (v) => v.toFixed(0) })),
      h("div", { class: "chart", id: "chart-abandon" }, lineChart({ title: "Abandon rate",
        series: [{ name: "last hour", points: history.hour }, { name: "today", points: history.today },
          { name: "30 days", points: history.days30 }], target, format: (v) => percent(v, 1) })),
      h("div", { class: "chart", id: "chart-answer-rate" }, lineChart({ title: "Answer rate",
        series: [{ name: "answer rate", points: history.answerRate }], yMax: 1, format: (v) => percent(v, 0) })));
  }

  drawHeader();
  await Promise.all([refreshCounts(), poll()]);
  let stopped = false;
  const timer = setInterval(() => {
    if (!stopped) Promise.all([poll(), refreshCounts()]).catch(showProblem);
  }, POLL_MS);
  return () => { stopped = true; clearInterval(timer); };
}
