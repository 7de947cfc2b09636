// Creator pages on the ledger and lookalike endpoints: my statement and withdrawal, creators similar to me.

import { api, query } from "./api.js";
import { figuresTable, lookalikeTable } from "./merchant_insights.js";
import { fmt, h, pageHeader, statusLine } from "./ui.js";

const creatorPath = (ctx, tail) => `/v1/creators/${encodeURIComponent(ctx.me.creator_id)}/${tail}`;
const money = (v) => `¥${v}`;

function linesTable(lines) {
  return h("table", { class: "data", id: "statement-lines" }, h("caption", {}, "Orders of the period"),
    h("thead", {}, h("tr", {}, ["Order", "Product", "Amount", "Rate", "Commission", "Status", "Created"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, lines.slice(-50).reverse().map((l) => h("tr", {}, h("td", {}, l.order_id), h("td", {}, l.product_id), h("td", {}, money(l.amount)),
      h("td", {}, l.commission_rate), h("td", {}, money(l.commission)), h("td", {}, l.status), h("td", {}, fmt.date(l.created_at))))));
}

export async function creatorStatementPage(ctx, root) {
  const status = statusLine();
  const withdraw = h("button", { type: "button", id: "withdraw" }, "Withdraw the available balance");
  root.append(pageHeader("My statement", "Commission on your orders over the last 90 days, exact to the fen, and your balance."), status.node);
  const s = await api("GET", creatorPath(ctx, `statement${query({ max_lines: 200 })}`));
  const balance = h("dl", { class: "facts", id: "balance" },
    [["Available", money(s.balance.available)], ["Paid ever", money(s.balance.paid)], ["Withdrawn", money(s.balance.withdrawn)],
      ["Owed (not settled)", money(s.totals.owed)], ["Earned in period", money(s.totals.earned)], ["Minimum to withdraw", money(s.balance.withdrawal_min_balance)]]
      .map(([k, v]) => h("div", { class: "figure" }, h("dt", {}, k), h("dd", {}, v))));
  withdraw.disabled = !s.balance.can_withdraw;
  const note = statusLine();
  withdraw.addEventListener("click", async () => {
    withdraw.disabled = true;
    const idempotencyKey = crypto.randomUUID();  // one per click: a retried request pays out once
    try {
      const w = await api("POST", creatorPath(ctx, "withdrawals"), undefined, { headers: { "Idempotency-Key": idempotencyKey } });
      note.info(`Withdrawal ${w.withdrawal_id}: ${money(w.amount)} for ${w.order_count} orders.`);
    } catch (err) {
      note.error(err);
      withdraw.disabled = false;
    }
  });
  status.info(`${fmt.date(s.period_start)} – ${fmt.date(s.period_end)} (${s.currency}).`);
  root.append(balance, h("div", { class: "form-actions" }, withdraw), note.node, figuresTable("statement-totals", s.totals),
    s.lines.length ? linesTable(s.lines) : h("p", { class: "muted" }, "No orders in the period."));
  if (s.lines_truncated) root.append(h("p", { class: "muted" }, "More orders than listed; totals count them all."));
}

export async function similarCreatorsPage(ctx, root) {
  const status = statusLine();
  root.append(pageHeader("Creators like me", "Creators whose audience and content resemble yours."), status.node);
  const answer = await api("GET", creatorPath(ctx, `similar${query({ k: 20 })}`));
  status.info(`${answer.items.length} similar creators.`);
  root.append(lookalikeTable(answer.items));
}
