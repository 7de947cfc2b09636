// Merchant pages: my products, creators for a product (filters, cards, audience chart, GMV trend, invite, exclude) and
// shop-level creators. Each user action is one API call: a search loads a whole page of cards at once.

import { api, query } from "./api.js";
import { audienceChart, trendChart } from "./charts.js";
import { badge, clear, field, fmt, formValues, h, pageHeader, reasonsList, showFieldErrors, statusLine } from "./ui.js";

const FAN_TIERS = ["nano", "micro", "mid", "macro", "mega"];
const AGES = ["age_18_23", "age_24_30", "age_31_40", "age_41_50", "age_50_plus"];
const CITY_TIERS = ["tier_1", "tier_2", "tier_3", "tier_4_plus"];
const any = [["", "Any"]];
const choices = (values) => any.concat(values.map((v) => [v, v.replace(/_/g, " ")]));
const TREND_DAYS = 90;  // the GMV trend a card shows (GET /v1/creators/{id}/gmv-trend?days=90)

// --- my products --------------------------------------------------------------------------------------------

function productRows(plans) {
  const byProduct = new Map();
  for (const plan of plans) {
    const row = byProduct.get(plan.product_id) || { product_id: plan.product_id, plans: [], best: 0, active: 0 };
    row.plans.push(plan);
    row.best = Math.max(row.best, plan.commission_rate);
    if (plan.status === "active") row.active += 1;
    byProduct.set(plan.product_id, row);
  }
  return [...byProduct.values()].sort((a, b) => b.active - a.active || a.product_id.localeCompare(b.product_id));
}

export async function productsPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("My products", "Products with a promotion plan; open one to find creators for it."), status.node);
  status.info("Loading your plans…");
  const answer = await api("GET", `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/plans`);
  const rows = productRows(answer.items);
  status.info(`${rows.length} products with plans.`);
  const table = h("table", { class: "data", id: "products-table" },
    h("caption", { class: "visually-hidden" }, "Your products"),
    h("thead", {}, h("tr", {}, ["Product", "Plans", "Active plans", "Best rate", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", { "data-product": r.product_id },
      h("td", {}, r.product_id), h("td", {}, r.plans.map((p) => p.plan_type).join(", ")), h("td", {}, r.active),
      h("td", {}, fmt.pct(r.best)),
      h("td", {}, h("a", { href: `#/merchant/products/${encodeURIComponent(r.product_id)}/creators`, class: "button" }, "Find creators"), " ",
        h("a", { href: `#/merchant/products/${encodeURIComponent(r.product_id)}/what-if` }, "What-if"), " ",
        h("a", { href: `#/merchant/invites/${encodeURIComponent(r.product_id)}` }, "Invitations"))))));
  root.append(table);
}

// --- creator cards ------------------------------------------------------------------------------------------

function figure(label, value, detail) {
  return h("div", { class: "figure" }, h("dt", {}, label), h("dd", {}, value, detail ? h("small", {}, ` ${detail}`) : null));
}

function inviteForm(item, productId, card) {
  const form = h("form", { class: "inline-form", "aria-label": `Invite ${item.name}` },
    field(`rate-${item.creator_id}`, "Targeted commission rate (0–1)", { type: "number", step: "0.01", min: "0", max: "1", value: String(item.commission_rate), name: "commission_rate" }),
    h("button", { type: "submit" }, "Send invitation"));
  const note = statusLine();
  form.append(note.node);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rate = Number(formValues(form).commission_rate);
    try {
      const answer = await api("POST", `/v1/products/${encodeURIComponent(productId)}/invites`, { creator_ids: [item.creator_id], commission_rate: rate });
      const invite = answer.items ? answer.items[0] : answer;
      note.info(`Invitation sent (${invite && invite.invite_id ? invite.invite_id : "ok"}).`);
      card.classList.add("invited");
      card.querySelector(".card-badges").append(badge("Invited", "badge-ok"));
    } catch (err) {
      showFieldErrors(form, err, { plan_commission_out_of_bounds: `rate-${item.creator_id}`, plan_terms_invalid: `rate-${item.creator_id}`, commission_rate: `rate-${item.creator_id}` });
      note.error(err);
    }
  });
  return form;
}

// Open or close a card's panel: opening loads it with one API call (`load` fills the panel), closing clears it.
async function togglePanel(panel, button, loading, load) {
  const card = panel.closest(".card");
  if (panel.childElementCount) {
    clear(panel);
    button.setAttribute("aria-expanded", "false");
    if (!card.querySelector(".card-panel.chart-panel:not(:empty)")) card.classList.remove("open");
    return;
  }
  button.setAttribute("aria-expanded", "true");
  card.classList.add("open");  // an open card spans the row, so the chart has room for every band
  panel.append(h("p", { class: "muted" }, loading));
  try {
    await load(panel);
  } catch (err) {
    clear(panel).append(h("p", { class: "status status-error" }, `Error: ${err.message}`));
  }
}

async function loadAudience(item, productId, panel) {
  const fit = await api("GET", `/v1/products/${encodeURIComponent(productId)}/audience${query({ creator_id: item.creator_id })}`);
  clear(panel);
  const mine = fit.creators[0];
  if (!mine) panel.append(h("p", {}, "No audience profile is stored for this creator."));
  else panel.append(audienceChart(mine.audience, fit.target, item.name));
  if (!fit.target) panel.append(h("p", { class: "muted" }, "This product publishes no target buyers."));
}

async function loadTrend(item, panel) {
  const trend = await api("GET", `/v1/creators/${encodeURIComponent(item.creator_id)}/gmv-trend${query({ days: TREND_DAYS })}`);
  clear(panel).append(trendChart(trend, item.name));
}

function chartButton(label, panel, loading, load) {
  const button = h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": panel.id }, label);
  button.addEventListener("click", () => togglePanel(panel, button, loading, load));
  return button;
}

export function creatorCard(item, { productId, onExclude }) {
  const audiencePanel = h("div", { class: "card-panel chart-panel", id: `audience-${item.creator_id}` });
  const trendPanel = h("div", { class: "card-panel chart-panel", id: `trend-${item.creator_id}` });
  const invitePanel = h("div", { class: "card-panel" });
  const badges = h("div", { class: "card-badges" }, badge(item.fan_tier, "badge-tier"),
    item.existing ? badge("Already working with you", "badge-ok") : null,
    item.suspected_fake_engagement ? badge("Suspected fake engagement", "badge-warn") : null);
  const card = h("article", { class: "card creator-card", "data-creator": item.creator_id, "aria-labelledby": `name-${item.creator_id}` },
    h("header", {}, h("h2", { id: `name-${item.creator_id}` }, item.name), h("p", { class: "muted" },
      `${item.creator_id} · ${fmt.count(item.followers)} followers · ${item.region}`), badges),
    h("dl", { class: "figures" },
      figure("Predicted GMV", fmt.yuan(item.predicted_gmv), `(80%: ${fmt.interval(item.predicted_gmv_interval)}, ${item.horizon_days} d)`),
      figure("Commission cost", fmt.yuan(item.expected_commission), `at ${fmt.pct(item.commission_rate)}`),
      figure("ROI", fmt.ratio(item.merchant_roi), `incl. sample ${fmt.yuan(item.sample_cost)}`),
      productId ? null : figure("Best product", item.product_id)),
    reasonsList(item.reasons));
  const actions = h("div", { class: "card-actions" });
  if (productId) {
    const audienceButton = chartButton("Audience vs target", audiencePanel, "Loading audience…", (panel) => loadAudience(item, productId, panel));
    const trendButton = chartButton("GMV trend", trendPanel, "Loading GMV trend…", (panel) => loadTrend(item, panel));
    const inviteButton = h("button", { type: "button" }, "Invite");
    inviteButton.addEventListener("click", () => {
      if (!invitePanel.childElementCount) invitePanel.append(inviteForm(item, productId, card));
      invitePanel.querySelector("input").focus();
    });
    actions.append(audienceButton, trendButton, inviteButton);
  }
  if (onExclude) actions.append(h("button", { type: "button", class: "secondary", onclick: () => onExclude(item.creator_id) }, "Exclude"));
  card.append(actions, audiencePanel, trendPanel, invitePanel);
  return card;
}

// --- creators for a product / for the shop -------------------------------------------------------------------

function filterForm(shopLevel) {
  return h("form", { class: "filters", id: "creator-filters", "aria-label": "Creator filters" },
    field("fan_tier", "Fan tier", { type: "select", options: choices(FAN_TIERS) }),
    field("region", "Region"),
    field("category", "Content category"),
    field("followers_min", "Followers from", { type: "number", min: "0" }),
    field("followers_max", "Followers to", { type: "number", min: "0" }),
    field("audience_gender", "Audience mostly", { type: "select", options: choices(["female", "male"]) }),
    field("audience_age", "Audience age", { type: "select", options: choices(AGES) }),
    field("audience_city_tier", "Audience city tier", { type: "select", options: choices(CITY_TIERS) }),
    field("gmv_30d_min", "GMV 30 d at least (¥)", { type: "number", min: "0" }),
    field("engagement_min", "Engagement at least", { type: "number", min: "0", max: "3", step: "0.01" }),
    field("sort", "Sort by", { type: "select", options: [["fit", "Best fit"], ["expected_gmv", "Expected GMV"], ["roi", "ROI"]], value: "fit" }),
    shopLevel ? null : field("include_existing", "Include creators already working with you", { type: "checkbox" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "Search")));
}

function creatorsPage({ title, subtitle, path, productId }) {
  return async (ctx, root) => {
    const status = statusLine();
    const form = filterForm(!productId);
    const results = h("div", { class: "cards", id: "creator-cards" });
    const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
    root.append(pageHeader(title, subtitle), form, status.node, results, more);
    const excluded = new Set();
    let cursor = null;
    let filters = {};
    const render = (answer, append) => {
      if (!append) clear(results);
      for (const item of answer.items) results.append(creatorCard(item, { productId, onExclude: (id) => { excluded.add(id); search(false); } }));
      cursor = answer.next_cursor;
      more.hidden = !cursor;
      const shown = results.childElementCount;
      status.info(answer.notice ? answer.notice.message : `${shown} creators${excluded.size ? ` (${excluded.size} excluded)` : ""}.`);
      performance.mark("console:cards");
    };
    const search = async (append) => {
      status.info("Searching…");
      try {
        const answer = await api("GET", `${path}${query({ ...filters, exclude: [...excluded], cursor: append ? cursor : null })}`);
        showFieldErrors(form, { details: [] });
        render(answer, append);
      } catch (err) {
        showFieldErrors(form, err);
        status.error(err);
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      filters = formValues(form);
      if (filters.sort === "fit") delete filters.sort;
      search(false);
    });
    more.addEventListener("click", () => search(true));
    await search(false);
  };
}

export function productCreatorsPage(ctx, root, productId) {
  return creatorsPage({
    title: `Creators for ${productId}`,
    subtitle: "New creators ranked for this product, with predicted sales, your cost and why they fit.",
    path: `/v1/products/${encodeURIComponent(productId)}/creators`,
    productId,
  })(ctx, root);
}

export function shopCreatorsPage(ctx, root) {
  return creatorsPage({
    title: "Creators for my shop",
    subtitle: "The best creators across your top-selling products, each with the product it fits best.",
    path: `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/creators`,
    productId: null,
  })(ctx, root);
}
