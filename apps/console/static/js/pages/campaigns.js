import { api } from "../api.js";
import { h, table } from "../dom.js";
import { percent } from "../format.js";
import { navigate, showProblem } from "../app.js";

// The lifecycle moves an operator can make from each state (the API refuses the others).
const MOVES = { draft: ["start"], running: ["pause"], paused: ["resume"], completed: [] };

export async function render(view) {
  const [campaigns, agents, trunks] = await Promise.all([
    api("/v1/campaigns"), api("/v1/agents"), optional("/v1/trunks")]);
  const rows = campaigns.map((c) => h("tr", { "data-campaign": c.id },
    h("td", {}, h("a", { href: `#/campaigns/${c.id}` }, c.name)),
    h("td", {}, h("span", { class: `state ${c.state}` }, c.state)),
    h("td", {}, c.pacing.mode),
    h("td", {}, percent(c.pacing.abandon_target)),
    h("td", {}, MOVES[c.state].map((move) => h("button", { type: "button",
      onclick: () => act(c.id, move) }, move)))));
  view.append(h("h1", {}, "Campaigns"),
    campaigns.length ? table(["Name", "State", "Pacing", "Abandon target", ""], rows)
      : h("p", { class: "muted" }, "No campaigns yet: create one below."),
    h("h2", {}, "New campaign"), newCampaignForm(agents, trunks));
}

async function act(id, move) {
  try {
    await api(`/v1/campaigns/${id}/${move}`, { method: "POST" });
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } catch (error) {
    showProblem(error);
  }
}

async function optional(path) {
  try { return await api(path); } catch { return null; }
}

function newCampaignForm(agents, trunks) {
  const field = (name, input) => h("label", {}, name, input);
  const agent = h("select", { name: "agent_id" },
    agents.map((a) => h("option", { value: a.id }, a.name)));
  const trunk = trunks
    ? h("select", { name: "trunk_id" }, trunks.map((t) => h("option", { value: t.id }, t.name)))
    : h("input", { name: "trunk_id", placeholder: "trunk id" });
  const name = h("input", { name: "name", required: true });
  const callerId = h("input", { name: "caller_id", placeholder: "+14155550100", required: true });
  const timezone = h("input", { name: "timezone", value: "UTC" });
  const mode = h("select", { name: "mode" },
    ["predictive", "progressive", "ratio:2", "preview"].map((m) => h("option", { value: m }, m)));
  const target = h("input", { name: "abandon_target", type: "number", step: "0.1", min: "0.1",
    max: "10", value: "3" });
  return h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const created = await api("/v1/campaigns", { method: "POST", json: {
        name: name.value, agent_id: agent.value, trunk_id: trunk.value,
        caller_id: callerId.value.trim(), timezone: timezone.value.trim(),
        pacing: { mode: mode.value, abandon_target: Number(target.value) / 100 },
      } });
      navigate(`/campaigns/${created.id}`);
    } catch (error) {
      showProblem(error);
    }
  } }, field("Name", name), field("Agent", agent), field("Trunk", trunk),
  field("Caller id", callerId), field("Time zone", timezone), field("Pacing", mode),
  field("Abandon target (%)", target), h("button", { class: "primary" }, "Create campaign"));
}
