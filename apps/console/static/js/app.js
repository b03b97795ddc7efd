// The console's router: the part of the URL after `#` names the page. Each page renders into
// `<main>` and may return a function that stops what it started (a live poll) when the operator
// leaves it.

import { ApiError, session } from "./api.js";
import * as signin from "./pages/signin.js";
import * as campaigns from "./pages/campaigns.js";
import * as campaign from "./pages/campaign.js";
import * as calls from "./pages/calls.js";
import * as call from "./pages/call.js";
import * as fleet from "./pages/fleet.js";

const ROUTES = [
  [/^\/signin$/, signin],
  [/^\/campaigns$/, campaigns],
  [/^\/campaigns\/([0-9a-f]+)$/, campaign],
  [/^\/calls$/, calls],
  [/^\/calls\/([^/]+)$/, call],
  [/^\/fleet$/, fleet],
];

const view = document.getElementById("view");
const problem = document.getElementById("problem");
let leave = null;

export function showProblem(error) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  problem.textContent = message;
  problem.hidden = false;
  if (error instanceof ApiError && error.status === 401) {
    session.signOut();
    navigate("/signin");
  }
}

export function clearProblem() {
  problem.hidden = true;
  problem.textContent = "";
}

export function navigate(path) {
  location.hash = `#${path}`;
}

async function route() {
  if (leave) leave();
  leave = null;
  clearProblem();
  const [path, query = ""] = (location.hash.slice(1) || "/campaigns").split("?");
  if (!session.key && path !== "/signin") return navigate("/signin");
  document.getElementById("nav").hidden = !session.key;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", path.startsWith(link.getAttribute("href").slice(1)));
  }
  const match = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
  view.replaceChildren();
  if (!match) {
    view.textContent = "There is no such page.";
    return;
  }
  const [found, page] = match;
  try {
    leave = (await page.render(view, found.slice(1), new URLSearchParams(query))) ?? null;
  } catch (error) {
    showProblem(error);
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  navigate("/signin");
});
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => showProblem(event.reason));
route();
