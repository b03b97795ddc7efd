import { api } from "../api.js";
import { h, table } from "../dom.js";
import { when } from "../format.js";
import { showProblem } from "../app.js";

const POLL_MS = 2000;

export async function render(view) {
  const body = h("div");
  view.append(h("h1", {}, "Fleet"), body);
  async function poll() {
    const fleet = await api("/v1/fleet/slots");
    body.replaceChildren(...(fleet.hosts.length ? fleet.hosts.map((host) => h("section",
      { "data-host": host.host },
      h("h2", {}, host.host, " ", h("span", { class: "muted" },
        `${host.idle} idle · ${host.busy} busy · ${host.draining} draining`)),
      table(["Worker", "State", "Last heartbeat"], host.slots.map((slot) => h("tr", {},
        h("td", {}, slot.worker), h("td", {}, h("span", { class: `state ${slot.state}` }, slot.state)),
        h("td", {}, when(slot.heartbeat_at)))))))
      : [h("p", { class: "muted" }, "No fleet worker has reported in the last minute.")]));
  }
  await poll();
  const timer = setInterval(() => poll().catch(showProblem), POLL_MS);
  return () => clearInterval(timer);
}
