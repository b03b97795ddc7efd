import { api } from "../api.js";
import { h, table } from "../dom.js";
import { when } from "../format.js";
import { navigate } from "../app.js";

const DISPOSITIONS = ["", "completed", "transferred", "hung_up", "voicemail", "abandoned",
  "no_answer", "busy", "declined", "failed", "invalid_number"];

export async function render(view, _, query) {
  const campaigns = await api("/v1/campaigns");
  const campaign = h("select", { name: "campaign_id" }, h("option", { value: "" }, "any"),
    campaigns.map((c) => h("option", { value: c.id, selected: c.id === query.get("campaign_id") }, c.name)));
  const disposition = h("select", { name: "disposition" },
    DISPOSITIONS.map((d) => h("option", { value: d, selected: d === (query.get("disposition") ?? "") }, d || "any")));
  const since = h("input", { type: "datetime-local", name: "since", value: query.get("since") ?? "" });
  const until = h("input", { type: "datetime-local", name: "until", value: query.get("until") ?? "" });
  const filters = h("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const input of [campaign, disposition, since, until]) {
      if (input.value) next.set(input.name, input.value);
    }
    navigate(`/calls?${next}`);
  } }, h("label", {}, "Campaign", campaign), h("label", {}, "Outcome", disposition),
  h("label", {}, "Since (UTC)", since), h("label", {}, "Until (UTC)", until),
  h("button", { class: "primary" }, "Search"));

  const search = new URLSearchParams({ limit: "100" });
  for (const name of ["campaign_id", "disposition"]) {
    if (query.get(name)) search.set(name, query.get(name));
  }
  for (const name of ["since", "until"]) {
    if (query.get(name)) search.set(name, `${query.get(name)}:00Z`);
  }
  const page = await api(`/v1/calls?${search}`);
  const names = Object.fromEntries(campaigns.map((c) => [c.id, c.name]));
  const rows = page.items.map((c) => h("tr", { "data-call": c.id },
    h("td", {}, h("a", { href: `#/calls/${c.id}` }, c.id.slice(0, 12))),
    h("td", {}, c.campaign_id === null ? `(${c.origin})` : names[c.campaign_id] ?? c.campaign_id),
    h("td", {}, c.disposition ?? "in progress"),
    h("td", {}, when(c.dialed_at)),
    h("td", {}, c.worker ?? "—")));
  view.append(h("h1", {}, "Calls"), filters, h("p"),
    rows.length ? table(["Call", "Campaign", "Outcome", "Dialled", "Worker"], rows)
      : h("p", { class: "muted" }, "No calls match these filters."));
}
