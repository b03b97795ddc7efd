import { api } from "../api.js";
import { h, table } from "../dom.js";
import { count } from "../format.js";
import { showProblem } from "../app.js";

// A CSV or JSON file, sent as it is: the API streams it and reports each refused row.
export function importForm(campaignId, imported) {
  const file = h("input", { type: "file", name: "contacts", accept: ".csv,.json,.jsonl,text/csv",
    required: true });
  const report = h("div", { class: "report", id: "import-report" });
  const form = h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const type = chosen.name.endsWith(".json") ? "application/json"
      : chosen.name.endsWith(".jsonl") ? "application/x-ndjson" : "text/csv";
    try {
      const result = await api(`/v1/campaigns/${campaignId}/contacts/import`,
        { method: "POST", body: chosen, contentType: type });
      report.replaceChildren(...describe(result));
      report.classList.toggle("bad", result.rejected > 0);
      await imported();
    } catch (error) {
      showProblem(error);
    }
  } }, h("label", {}, "CSV with a phone column (E.164), or JSON", file),
  h("button", { class: "primary" }, "Import"));
  return h("div", {}, form, report);
}

function describe(result) {
  const summary = h("p", {}, `${count(result.inserted)} of ${count(result.rows)} rows imported, `
    + `${count(result.rejected)} refused.`,
  result.complete ? "" : " The file could not be read to its end: fix it and import it again.");
  if (!result.errors.length) return [summary];
  return [summary, table(["Row", "Field", "Why"], result.errors.map((e) =>
    h("tr", {}, h("td", {}, e.row), h("td", {}, e.field), h("td", {}, e.reason))))];
}
