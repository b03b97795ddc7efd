import { api } from "../api.js";
import { h, table } from "../dom.js";
import { when } from "../format.js";

export async function render(view, [id]) {
  const call = await api(`/v1/calls/${encodeURIComponent(id)}`);
  const a = call.call;
  const facts = [["Outcome", a.disposition ?? "in progress"], ["Attempt", a.number],
    ["Dialled", when(a.dialed_at)], ["Answered", when(a.answered_at)],
    ["On a worker", when(a.attached_at)], ["Ended", when(a.ended_at)], ["Worker", a.worker ?? "—"]];
  view.append(h("h1", {}, `Call ${id}`),
    table(["", ""], facts.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))),
    h("h2", {}, "Recording"),
    call.recording_url
      ? h("audio", { controls: true, preload: "metadata", src: call.recording_url, id: "recording" })
      : h("p", { class: "muted" }, "No recording is stored for this call."),
    h("h2", {}, "Transcript"),
    call.transcript?.length
      ? h("ol", { id: "transcript" }, call.transcript.map((turn) =>
        h("li", {}, h("strong", {}, `${turn.speaker ?? turn.role}: `), turn.text)))
      : h("p", { class: "muted" }, "No transcript."),
    h("h2", {}, "Events"),
    table(["#", "Event", "At", "Detail"], call.events.map((e) => h("tr", {},
      h("td", {}, e.sequence), h("td", {}, e.kind), h("td", {}, when(e.at)),
      h("td", {}, e.disposition ?? "")))));
}
