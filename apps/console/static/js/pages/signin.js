import { api, session } from "../api.js";
import { h } from "../dom.js";
import { clearProblem, navigate, showProblem } from "../app.js";

export function render(view) {
  const key = h("input", { type: "password", name: "key", autocomplete: "off", required: true,
    size: 60, placeholder: "vbk_…" });
  const form = h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    clearProblem();
    try {
      // A key that can list campaigns is a tenant's key: the console is the tenant's view.
      await api("/v1/campaigns", { key: key.value.trim() });
      session.signIn(key.value.trim());
      navigate("/campaigns");
    } catch (error) {
      showProblem(error);
    }
  } }, h("label", {}, "Your API key", key), h("button", { class: "primary" }, "Sign in"));
  view.append(h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Use an API key of your tenant. It stays in this tab only."), form);
}
