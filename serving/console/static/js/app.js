// The console shell: sign in with an API key, learn its role from GET /v1/me, then show that role's pages.
// Routes live in the URL fragment (#/merchant/plans); the key never does (sessionStorage only).

import { api, forgetKey, storedKey, storeKey } from "./api.js";
import { adminPage, experimentsPage } from "./admin.js";
import { creatorInvitesPage, creatorSamplesPage, poolPage } from "./creator.js";
import { creatorStatementPage, similarCreatorsPage } from "./creator_money.js";
import { productCreatorsPage, productsPage, shopCreatorsPage } from "./merchant_creators.js";
import { alertsPage, lookalikesPage, merchantStatementPage, whatIfPage } from "./merchant_insights.js";
import { merchantInvitesPage, merchantSamplesPage, plansPage } from "./merchant_work.js";
import { clear, field, h, statusLine } from "./ui.js";

// Pages per role: [route pattern, nav label (null: not in the menu), render(ctx, root, ...captures)].
const PAGES = {
  merchant: [
    [/^products$/, "My products", productsPage],
    [/^products\/([^/]+)\/creators$/, null, productCreatorsPage],
    [/^products\/([^/]+)\/what-if$/, null, whatIfPage],
    [/^shop$/, "Creators for my shop", shopCreatorsPage],
    [/^plans$/, "Plans", plansPage],
    [/^invites(?:\/([^/]+))?$/, "Invitations", merchantInvitesPage],
    [/^samples$/, "Sample requests", merchantSamplesPage],
    [/^alerts$/, "Stop-loss alerts", alertsPage],
    [/^lookalikes$/, "Lookalike creators", lookalikesPage],
    [/^statement$/, "Statement", merchantStatementPage],
  ],
  creator: [
    [/^pool$/, "My product pool", poolPage],
    [/^invites$/, "Invitations", creatorInvitesPage],
    [/^samples$/, "Sample requests", creatorSamplesPage],
    [/^statement$/, "Statement and withdrawal", creatorStatementPage],
    [/^similar$/, "Creators like me", similarCreatorsPage],
  ],
  admin: [
    [/^bundle$/, "Model bundle", adminPage],
    [/^experiments$/, "A/B experiments", experimentsPage],
  ],
};

const ROUTES = { merchant: "products", creator: "pool", admin: "bundle" };
const ctx = { me: null };
const main = () => document.getElementById("main");

// Show `hash`: a changed fragment routes through the hashchange listener, the same one routes at once.
function go(hash) {
  if (location.hash === hash) return route();
  location.hash = hash;
  return undefined;
}

function renderNav() {
  const nav = clear(document.getElementById("nav"));
  const who = document.getElementById("who");
  if (!ctx.me) {
    who.textContent = "";
    return;
  }
  const role = ctx.me.role;
  const tenant = ctx.me.merchant_id || ctx.me.creator_id;
  who.textContent = `Signed in as ${role}${tenant ? ` ${tenant}` : ""}`;
  const current = location.hash.replace(/^#\//, "");
  const links = PAGES[role].filter(([, label]) => label).map(([pattern, label]) => {
    const target = `${role}/${pattern.source.replace(/^\^|\$$/g, "").replace(/\(\?:.*\)\?/, "")}`;
    return h("li", {}, h("a", { href: `#/${target}`, "aria-current": current === target ? "page" : null }, label));
  });
  nav.append(h("ul", {}, links));
  nav.append(h("button", { type: "button", class: "secondary", id: "sign-out", onclick: signOut }, "Sign out"));
}

function signInPage(message) {
  const status = statusLine();
  const form = h("form", { id: "sign-in", class: "sign-in", "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste your API key (merchant, creator or admin). It stays in this browser tab only."),
    field("api_key", "API key", { type: "password", autocomplete: "off", required: true }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "Sign in")), status.node);
  if (message) status.error({ message });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = form.elements.api_key.value.trim();
    try {
      ctx.me = await api("GET", "/v1/me", undefined, { key });
      storeKey(key);
      form.elements.api_key.value = "";
      await go(`#/${ctx.me.role}/${ROUTES[ctx.me.role]}`);
    } catch (err) {
      status.error(err.status === 401 ? { message: "This key is not an active API key." } : err);
    }
  });
  clear(main()).append(form);
  form.elements.api_key.focus();
}

function signOut() {
  forgetKey();
  ctx.me = null;
  history.replaceState(null, "", location.pathname);
  renderNav();
  signInPage();
}

function wrongRole(role) {
  const me = ctx.me;
  return h("section", { class: "notice", id: "wrong-role" }, h("h1", {}, "Not available for this key"),
    h("p", {}, `This page is for ${role} keys; you are signed in as ${me.role}${me.merchant_id || me.creator_id ? ` ${me.merchant_id || me.creator_id}` : ""}.`),
    h("p", {}, h("a", { href: `#/${me.role}/${ROUTES[me.role]}` }, "Go to your start page")));
}

export async function route() {
  if (!ctx.me) return;
  const [role, ...rest] = location.hash.replace(/^#\//, "").split("/");
  const tail = rest.join("/");
  renderNav();
  const root = h("div", { class: "page" });  // a page still loading after the next route writes into a detached node
  clear(main()).append(root);
  if (!PAGES[role]) {
    await go(`#/${ctx.me.role}/${ROUTES[ctx.me.role]}`);
    return;
  }
  if (role !== ctx.me.role) {
    root.append(wrongRole(role));
    return;
  }
  const page = PAGES[role].find(([pattern]) => pattern.test(tail));
  if (!page) {
    root.append(h("p", {}, "No such page. "), h("a", { href: `#/${role}/${ROUTES[role]}` }, "Start page"));
    return;
  }
  const captures = tail.match(page[0]).slice(1).map((c) => (c === undefined ? undefined : decodeURIComponent(c)));
  try {
    await page[2](ctx, root, ...captures);
  } catch (err) {
    if (err.status === 401) return signOut();
    root.append(h("p", { class: "status status-error", role: "alert" }, `Error: ${err.message}`));
  }
}

async function start() {
  window.addEventListener("hashchange", route);
  const key = storedKey();
  if (!key) return signInPage();
  try {
    ctx.me = await api("GET", "/v1/me");
  } catch (err) {
    forgetKey();
    return signInPage(err.status === 401 ? "Your key is no longer active; sign in again." : err.message);
  }
  if (!location.hash.startsWith("#/")) await go(`#/${ctx.me.role}/${ROUTES[ctx.me.role]}`);
  else await route();
}

start();
