// Merchant pages: plans (create, edit, rule errors next to the field), invitations per product, sample requests.

import { api } from "./api.js";
import { badge, clear, field, fmt, formValues, h, pageHeader, showFieldErrors, statusLine } from "./ui.js";

// Plan rule codes (recsys/core/rules/reasons.py) -> the form field they are about.
const PLAN_CODE_FIELDS = {
  plan_product_unknown: "product_id",
  plan_product_changed: "product_id",
  plan_type_unknown: "plan_type",
  plan_type_changed_after_launch: "plan_type",
  plan_commission_out_of_bounds: "commission_rate",
  plan_terms_invalid: "commission_rate",
  plan_rate_decreased_after_launch: "commission_rate",
  plan_tier_rate_out_of_bounds: "tiers",
  plan_tiers_missing: "tiers",
  plan_tiers_not_allowed: "tiers",
  plan_tiers_not_increasing: "tiers",
  plan_tier_rates_decreasing: "tiers",
  plan_tier_rate_decreased_after_launch: "tiers",
  plan_listed_creators_missing: "creator_ids",
  plan_listed_creators_forbidden: "creator_ids",
  plan_listed_creator_unknown: "creator_ids",
  plan_window_invalid: "ends_at",
  plan_budget_invalid: "budget",
  plan_min_followers_invalid: "min_followers",
};
const PLAN_TYPES = ["open", "targeted", "exclusive", "tiered"].map((t) => [t, t]);

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function tiersOf(text) {
  return list(text).map((pair) => {
    const [min, rate] = pair.split(":").map((s) => Number(s.trim()));
    return { min_amount: min, rate };
  });
}

// The JSON body of the plan form; on edit only the fields that changed.
function planBody(values, old) {
  const body = {
    product_id: values.product_id,
    plan_type: values.plan_type,
    commission_rate: values.commission_rate === "" ? null : Number(values.commission_rate),
    creator_ids: list(values.creator_ids),
    tiers: tiersOf(values.tiers),
    min_followers: values.min_followers === "" ? 0 : Number(values.min_followers),
    allowed_categories: list(values.allowed_categories),
    allowed_regions: list(values.allowed_regions),
    ends_at: values.ends_at ? new Date(`${values.ends_at}Z`).toISOString() : null,
    budget: values.budget === "" ? null : Number(values.budget),
  };
  if (!old) return body;
  const before = planBody(formOf(old), null);
  const changes = {};
  for (const [name, value] of Object.entries(body)) {
    if (name !== "product_id" && JSON.stringify(value) !== JSON.stringify(before[name])) changes[name] = value;
  }
  return changes;
}

function formOf(plan) {
  return {
    product_id: plan.product_id,
    plan_type: plan.plan_type,
    commission_rate: String(plan.commission_rate),
    creator_ids: (plan.creator_ids || []).join(", "),
    tiers: (plan.tiers || []).map(([min, rate]) => `${min}:${rate}`).join(", "),
    min_followers: String(plan.min_followers || 0),
    allowed_categories: (plan.allowed_categories || []).join(", "),
    allowed_regions: (plan.allowed_regions || []).join(", "),
    ends_at: plan.ends_at ? plan.ends_at.slice(0, 16) : "",
    budget: plan.budget === null || plan.budget === undefined ? "" : String(plan.budget),
  };
}

function planForm(old, onSaved) {
  const v = old ? formOf(old) : { plan_type: "open" };
  const form = h("form", { class: "plan-form", id: "plan-form", "aria-label": old ? `Edit plan ${old.plan_id}` : "New plan" },
    h("h2", {}, old ? `Edit plan ${old.plan_id}` : "New plan"),
    field("product_id", "Product id", { value: v.product_id || "", required: true, readonly: old ? true : null }),
    field("plan_type", "Plan type", { type: "select", options: PLAN_TYPES, value: v.plan_type }),
    field("commission_rate", "Commission rate (0–1)", { type: "number", step: "0.01", min: "0", max: "1", value: v.commission_rate || "" }),
    field("creator_ids", "Listed creators (targeted / exclusive)", { value: v.creator_ids || "", hint: "comma separated ids" }),
    field("tiers", "Tiers (tiered plans)", { value: v.tiers || "", hint: "min:rate, e.g. 100:0.25, 500:0.3" }),
    field("min_followers", "Minimum followers", { type: "number", min: "0", value: v.min_followers || "" }),
    field("allowed_categories", "Allowed categories", { value: v.allowed_categories || "", hint: "empty = any" }),
    field("allowed_regions", "Allowed regions", { value: v.allowed_regions || "", hint: "empty = any" }),
    field("ends_at", "Ends at (UTC)", { type: "datetime-local", value: v.ends_at || "" }),
    field("budget", "Commission budget (¥)", { type: "number", min: "0", value: v.budget || "" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, old ? "Save changes" : "Create plan")));
  const status = statusLine();
  form.append(status.node);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = planBody(formValues(form), old);
    try {
      const plan = old
        ? await api("PATCH", `/v1/plans/${encodeURIComponent(old.plan_id)}`, body)
        : await api("POST", "/v1/plans", body);
      showFieldErrors(form, { details: [] });
      status.info(`Saved plan ${plan.plan_id}.`);
      onSaved(plan);
    } catch (err) {
      const shown = showFieldErrors(form, err, PLAN_CODE_FIELDS);
      status.error(shown ? { message: `${err.message} (see the marked fields)` } : err);
    }
  });
  return form;
}

function planRow(plan, onEdit) {
  return h("tr", { "data-plan": plan.plan_id },
    h("td", {}, plan.plan_id), h("td", {}, plan.product_id), h("td", {}, plan.plan_type), h("td", {}, fmt.pct(plan.commission_rate)),
    h("td", {}, badge(plan.status, plan.status === "active" ? "badge-ok" : "")), h("td", {}, fmt.date(plan.ends_at)),
    h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => onEdit(plan) }, "Edit")));
}

export async function plansPage(ctx, root) {
  const status = statusLine();
  const formSlot = h("section", { class: "form-slot" });
  const body = h("tbody");
  root.append(pageHeader("Plans", "Your promotion plans. The plan rules check every change; refusals show next to the field."),
    h("button", { type: "button", id: "new-plan", onclick: () => showForm(null) }, "New plan"), formSlot, status.node,
    h("table", { class: "data", id: "plans-table" }, h("caption", { class: "visually-hidden" }, "Your plans"),
      h("thead", {}, h("tr", {}, ["Plan", "Product", "Type", "Rate", "Status", "Ends", ""].map((t) => h("th", { scope: "col" }, t)))), body));
  const plans = new Map();
  const draw = () => {
    clear(body);
    for (const plan of plans.values()) body.append(planRow(plan, showForm));
  };
  function showForm(old) {
    clear(formSlot).append(planForm(old, (plan) => {
      plans.set(plan.plan_id, plan);
      draw();
    }));
    formSlot.querySelector("select, input:not([readonly])").focus();
  }
  const answer = await api("GET", `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/plans`);
  for (const plan of answer.items) plans.set(plan.plan_id, plan);
  status.info(`${plans.size} plans.`);
  draw();
}

// --- invitations --------------------------------------------------------------------------------------------

function inviteTable(items, withActions) {
  return h("table", { class: "data", id: "invites-table" }, h("caption", { class: "visually-hidden" }, "Invitations"),
    h("thead", {}, h("tr", {}, ["Invitation", "Product", "Creator", "Rate", "Status", "Expires", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((inv) => h("tr", { "data-invite": inv.invite_id },
      h("td", {}, inv.invite_id), h("td", {}, inv.product_id), h("td", {}, inv.creator_id), h("td", {}, fmt.pct(inv.commission_rate)),
      h("td", {}, badge(inv.status, inv.status === "accepted" ? "badge-ok" : "")), h("td", {}, fmt.date(inv.expires_at)),
      h("td", {}, withActions ? withActions(inv) : null)))));
}

export { inviteTable };

export async function merchantInvitesPage(ctx, root, productId) {
  const status = statusLine();
  const slot = h("div");
  const picker = h("form", { class: "filters", "aria-label": "Choose a product" },
    field("product", "Product", { type: "select", options: [["", "Choose a product"]] }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "Show invitations")));
  root.append(pageHeader("Invitations", "Invitations you sent for a product and their answers."), picker, status.node, slot);
  const load = async (product) => {
    status.info("Loading…");
    try {
      const answer = await api("GET", `/v1/products/${encodeURIComponent(product)}/invites`);
      clear(slot).append(inviteTable(answer.items, null));
      status.info(`${answer.items.length} invitations for ${product}.`);
    } catch (err) {
      status.error(err);
    }
  };
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    const product = formValues(picker).product;
    if (product) load(product);
  });
  const plans = await api("GET", `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/plans`);
  const select = picker.querySelector("select");
  for (const id of [...new Set(plans.items.map((p) => p.product_id))].sort()) select.append(h("option", { value: id }, id));
  if (productId) {
    select.value = productId;
    await load(productId);
  }
}

// --- sample requests ----------------------------------------------------------------------------------------

const NEXT_STEPS = { requested: ["approve", "reject"], approved: ["ship"] };

export function sampleTable(items, actionButtons) {
  return h("table", { class: "data", id: "samples-table" }, h("caption", { class: "visually-hidden" }, "Sample requests"),
    h("thead", {}, h("tr", {}, ["Request", "Product", "Creator", "Status", "Requested", "Note", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((r) => h("tr", { "data-request": r.request_id },
      h("td", {}, r.request_id), h("td", {}, r.product_id), h("td", {}, r.creator_id), h("td", {}, badge(r.status)),
      h("td", {}, fmt.date(r.requested_at)), h("td", {}, r.note || ""), h("td", {}, actionButtons ? actionButtons(r) : null)))));
}

export async function merchantSamplesPage(ctx, root) {
  const status = statusLine();
  const slot = h("div");
  root.append(pageHeader("Sample requests", "Requests for samples of your products: approve, reject, ship."), status.node, slot);
  let items = [];
  const act = async (request, step) => {
    try {
      const body = step === "reject" ? { reason: "not a fit for this product" } : undefined;
      const updated = await api("POST", `/v1/sample-requests/${encodeURIComponent(request.request_id)}/${step}`, body);
      items = items.map((r) => (r.request_id === updated.request_id ? updated : r));
      draw();
      status.info(`Request ${updated.request_id}: ${updated.status}.`);
    } catch (err) {
      status.error(err);
    }
  };
  const buttons = (r) => (NEXT_STEPS[r.status] || []).map((step) =>
    h("button", { type: "button", class: "secondary", onclick: () => act(r, step), "aria-label": `${step} ${r.request_id}` }, step));
  const draw = () => clear(slot).append(sampleTable(items, buttons));
  const answer = await api("GET", `/v1/merchants/${encodeURIComponent(ctx.me.merchant_id)}/sample-requests`);
  items = answer.items;
  status.info(`${items.length} sample requests.`);
  draw();
}
