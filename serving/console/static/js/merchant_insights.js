// Merchant pages on the after-match endpoints: commission what-if (rate slider, rank-change chart), stop-loss
// alerts, the statement and lookalike creators. One API call per user action.

import { api, query } from "./api.js";
import { rankChangeChart } from "./charts.js";
import { badge, clear, field, fmt, formValues, h, pageHeader, showFieldErrors, statusLine } from "./ui.js";

const merchantPath = (ctx, tail) => `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/${tail}`;
const money = (v) => (v === null || v === undefined ? "–" : `¥${v}`);  // exact decimal strings stay as sent

function table(id, caption, headers, rows) {
  return h("table", { class: "data", id }, h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length
      ? rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "Nothing to show yet."))));
}

// --- what-if ------------------------------------------------------------------------------------------------

function whatIfSummary(result) {
  const s = result.summary;
  return h("section", { id: "whatif-summary", class: "notice" },
    h("p", { class: "lead" }, s.text),
    h("dl", { class: "facts" },
      [["Rate", `${fmt.pct(result.rate_today)} → ${fmt.pct(result.rate_proposed)}`],
        ["Pools listing it", `${s.in_pool_today} → ${s.in_pool_proposed} of ${s.creators}`],
        ["Median rank", `${s.median_rank_today ?? "–"} → ${s.median_rank_proposed ?? "–"}`],
        ["Improves / worsens", `${s.improves} / ${s.worsens}`],
        ["Expected GMV", `${fmt.yuan(s.expected_gmv_today)} → ${fmt.yuan(s.expected_gmv_proposed)}`],
        ["Commission cost", `${fmt.yuan(s.commission_cost_today)} → ${fmt.yuan(s.commission_cost_proposed)}`]]
        .map(([k, v]) => h("div", { class: "figure" }, h("dt", {}, k), h("dd", {}, v)))));
}

export async function whatIfPage(ctx, root, productId) {
  const status = statusLine();
  const output = h("output", { for: "f-rate", id: "rate-shown" }, "20%");
  const form = h("form", { class: "filters", id: "whatif-form", "aria-label": "Proposed commission" },
    field("rate", "Proposed commission rate", { type: "range", min: "0.01", max: "0.8", step: "0.01", value: "0.2" }),
    h("div", { class: "field" }, h("span", { class: "label" }, "Proposed"), output),
    field("top_n", "Creators examined", { type: "number", min: "1", max: "500", value: "100" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "Run what-if")));
  const rate = form.querySelector("#f-rate");
  rate.addEventListener("input", () => { output.textContent = fmt.pct(Number(rate.value)); });
  output.textContent = fmt.pct(Number(rate.value));
  const slot = h("div");
  root.append(pageHeader(`Commission what-if for ${productId}`, "How the product's place in creators' pools, its GMV and your cost would move at another rate. Nothing is changed."),
    form, status.node, slot);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    status.info("Computing…");
    try {
      const result = await api("POST", `/v1/products/${encodeURIComponent(productId)}/what-if`, { rate: Number(values.rate), top_n: Number(values.top_n) });
      showFieldErrors(form, { details: [] });
      clear(slot).append(whatIfSummary(result), rankChangeChart(result.creators));
      status.info(`Plan ${result.plan_id}, model ${result.model_run_id}.`);
    } catch (err) {
      showFieldErrors(form, err, { plan_commission_out_of_bounds: "rate", plan_terms_invalid: "rate" });
      status.error(err);
    }
  });
}

// --- stop-loss alerts ---------------------------------------------------------------------------------------

export async function alertsPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("Stop-loss alerts", "Running collaborations selling far below what was predicted, with a suggested action."), status.node);
  const answer = await api("GET", merchantPath(ctx, "alerts"));
  status.info(`${answer.items.length} alerts among ${answer.collaborations} running collaborations (last ${answer.period_days} days; ${answer.insufficient_views} not judged yet: too few views).`);
  root.append(table("alerts-table", "Stop-loss alerts", ["Creator", "Product", "Plan", "Views", "GMV", "GPM (real / predicted)", "Action", "Why"],
    answer.items.map((a) => [a.creator_id, a.product_id, a.plan_id, fmt.count(a.views), fmt.yuan(a.realized_gmv),
      `${a.realized_gpm.toFixed(1)} / ${a.predicted_gpm.toFixed(1)} (${fmt.pct(a.gpm_ratio)})`, badge(a.suggested_action, "badge-warn"), a.explanation])));
}

// --- statement ----------------------------------------------------------------------------------------------

export function figuresTable(id, totals) {
  const rows = ["pending", "settleable", "paid", "refunded"].map((name) =>
    [name, String(totals[name].orders), money(totals[name].gmv), money(totals[name].commission)]);
  return table(id, "Totals by status", ["Status", "Orders", "GMV", "Commission"], rows);
}

export async function merchantStatementPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("Statement", "Commission on your products' orders over the last 90 days, exact to the fen."), status.node);
  const s = await api("GET", merchantPath(ctx, "statement"));
  status.info(`${fmt.date(s.period_start)} – ${fmt.date(s.period_end)} (${s.currency}); owed ${money(s.totals.owed)}, earned by creators ${money(s.totals.earned)}.`);
  root.append(figuresTable("statement-totals", s.totals),
    h("h2", {}, "By creator"),
    table("statement-creators", "Commission by creator", ["Creator", "Orders", "Owed", "Paid"],
      s.by_creator.map((c) => [c.creator_id, String(["pending", "settleable", "paid", "refunded"].reduce((n, k) => n + c.totals[k].orders, 0)),
        money(c.totals.owed), money(c.totals.paid.commission)])));
}

// --- lookalikes ---------------------------------------------------------------------------------------------

export function lookalikeTable(items) {
  return table("lookalikes-table", "Similar creators", ["Creator", "Name", "Similarity", "Fan tier", "Followers", "Category", "Region", "Like"],
    items.map((c) => [c.creator_id, c.name, c.similarity.toFixed(3), c.fan_tier, fmt.count(c.followers), c.main_category || "–", c.region,
      c.resembles ? `${c.resembles}${c.resembles_gpm ? ` (GPM ${c.resembles_gpm.toFixed(1)})` : ""}` : "–"]));
}

export async function lookalikesPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("Lookalike creators", "New creators who resemble your best performers (highest realized GPM with you)."), status.node);
  const answer = await api("GET", merchantPath(ctx, `lookalikes${query({ k: 20 })}`));
  status.info(`${answer.items.length} lookalikes of ${answer.top_performers.length} best performers (${answer.excluded_partners} current partners left out).`);
  root.append(lookalikeTable(answer.items));
}
