// Creator pages: my product pool (filters, cards, request a sample), invitations (accept / decline), samples.

import { api, query } from "./api.js";
import { inviteTable, sampleTable } from "./merchant_work.js";
import { badge, clear, field, fmt, formValues, h, pageHeader, reasonsList, showFieldErrors, statusLine } from "./ui.js";

const creatorPath = (ctx, tail) => `/v1/creators/${encodeURIComponent(ctx.me.creator_id)}/${tail}`;

function sampleForm(item) {
  const form = h("form", { class: "inline-form", "aria-label": `Request a sample of ${item.title}` },
    field(`note-${item.product_id}`, "Note to the merchant", { name: "note", maxlength: "500" }),
    h("button", { type: "submit" }, "Send request"));
  const note = statusLine();
  form.append(note.node);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = formValues(form).note;
    try {
      const request = await api("POST", `/v1/products/${encodeURIComponent(item.product_id)}/sample-requests`, text ? { note: text } : {});
      note.info(`Sample requested (${request.request_id}, ${request.status}).`);
    } catch (err) {
      showFieldErrors(form, err, { note: `note-${item.product_id}` });
      note.error(err);
    }
  });
  return form;
}

function productCard(item) {
  const panel = h("div", { class: "card-panel" });
  const figures = h("dl", { class: "figures" },
    h("div", { class: "figure" }, h("dt", {}, "Price"), h("dd", {}, fmt.yuan(item.price))),
    h("div", { class: "figure" }, h("dt", {}, "Commission"), h("dd", {}, fmt.pct(item.commission_rate), h("small", {}, ` ${item.plan_type || ""} plan`))),
    h("div", { class: "figure" }, h("dt", {}, "Expected earnings"), h("dd", {}, fmt.yuan(item.expected_earnings),
      h("small", {}, ` (80%: ${fmt.interval(item.expected_earnings_interval)}, ${item.horizon_days} d)`))),
    h("div", { class: "figure" }, h("dt", {}, "Predicted GMV"), h("dd", {}, fmt.yuan(item.predicted_gmv))));
  const card = h("article", { class: "card product-card", "data-product": item.product_id, "aria-labelledby": `title-${item.product_id}` },
    h("header", {}, h("h2", { id: `title-${item.product_id}` }, item.title),
      h("p", { class: "muted" }, `${item.product_id} · ${item.category} · shop ${item.merchant_id}`),
      h("div", { class: "card-badges" }, item.plan_type ? badge(item.plan_type, "badge-tier") : null, item.existing ? badge("You promote it already", "badge-ok") : null)),
    figures, reasonsList(item.reasons),
    h("div", { class: "card-actions" }, h("button", { type: "button", onclick: () => {
      if (!panel.childElementCount) panel.append(sampleForm(item));
      panel.querySelector("input").focus();
    } }, "Request a sample")), panel);
  return card;
}

export async function poolPage(ctx, root) {
  const status = statusLine();
  const form = h("form", { class: "filters", id: "pool-filters", "aria-label": "Product filters" },
    field("category", "Category"),
    field("min_commission", "Commission at least (0–1)", { type: "number", step: "0.01", min: "0", max: "1" }),
    field("price_min", "Price from (¥)", { type: "number", min: "0" }),
    field("price_max", "Price to (¥)", { type: "number", min: "0" }),
    field("include_existing", "Include products I promote already", { type: "checkbox" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "Search")));
  const results = h("div", { class: "cards", id: "product-cards" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  root.append(pageHeader("My product pool", "Products you can promote now, with your commission and expected earnings."), form, status.node, results, more);
  let filters = {};
  let cursor = null;
  const search = async (append) => {
    status.info("Searching…");
    try {
      const answer = await api("GET", creatorPath(ctx, `products${query({ ...filters, cursor: append ? cursor : null })}`));
      showFieldErrors(form, { details: [] });
      if (!append) clear(results);
      for (const item of answer.items) results.append(productCard(item));
      cursor = answer.next_cursor;
      more.hidden = !cursor;
      status.info(answer.notice ? answer.notice.message : `${results.childElementCount} products.`);
    } catch (err) {
      showFieldErrors(form, err);
      status.error(err);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = formValues(form);
    search(false);
  });
  more.addEventListener("click", () => search(true));
  await search(false);
}

export async function creatorInvitesPage(ctx, root) {
  const status = statusLine();
  const slot = h("div");
  root.append(pageHeader("Invitations", "Merchants inviting you at a targeted commission. Accepting starts the collaboration."), status.node, slot);
  let items = [];
  const answerInvite = async (invite, action) => {
    try {
      const updated = await api("POST", `/v1/invites/${encodeURIComponent(invite.invite_id)}/${action}`);
      items = items.map((i) => (i.invite_id === updated.invite_id ? updated : i));
      draw();
      status.info(`Invitation ${updated.invite_id}: ${updated.status}.`);
    } catch (err) {
      status.error(err);
    }
  };
  const buttons = (inv) => (inv.status === "pending"
    ? [h("button", { type: "button", onclick: () => answerInvite(inv, "accept"), "aria-label": `Accept ${inv.invite_id}` }, "Accept"), " ",
      h("button", { type: "button", class: "secondary", onclick: () => answerInvite(inv, "decline"), "aria-label": `Decline ${inv.invite_id}` }, "Decline")]
    : null);
  const draw = () => clear(slot).append(inviteTable(items, buttons));
  const answer = await api("GET", creatorPath(ctx, "invites"));
  items = answer.items;
  status.info(`${items.length} invitations.`);
  draw();
}

export async function creatorSamplesPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("Sample requests", "Samples you asked for and where they are."), status.node);
  const answer = await api("GET", creatorPath(ctx, "sample-requests"));
  status.info(`${answer.items.length} sample requests.`);
  root.append(sampleTable(answer.items, null));
}
