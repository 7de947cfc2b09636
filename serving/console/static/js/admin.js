// Admin page: the bundle being served (from its manifest) and reload.

import { api } from "./api.js";
import { clear, fmt, h, pageHeader, statusLine } from "./ui.js";

function metricRows(metrics, prefix = "") {
  const rows = [];
  for (const [name, value] of Object.entries(metrics || {})) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) rows.push(...metricRows(value, `${prefix}${name}.`));
    else rows.push([`${prefix}${name}`, typeof value === "number" ? String(Math.round(value * 10000) / 10000) : JSON.stringify(value)]);
  }
  return rows;
}

function bundleView(bundle) {
  const facts = [["Run id", bundle.model_run_id], ["Trained at", fmt.date(bundle.created_at)], ["Data 'now'", fmt.date(bundle.data_now)],
    ["Features", String(bundle.feature_count)], ["Ranker", bundle.ranker_mode || "–"], ["Seed", String(bundle.seed ?? "–")]];
  return h("section", { id: "bundle" },
    h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", { class: "figure" }, h("dt", {}, k), h("dd", {}, v)))),
    h("table", { class: "data", id: "metrics-table" }, h("caption", {}, "Validation metrics (manifest)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Metric"), h("th", { scope: "col" }, "Value"))),
      h("tbody", {}, metricRows(bundle.metrics).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))))));
}

function experimentsView(list) {
  if (!list.items.length) return h("p", { class: "muted", id: "experiments" }, "No A/B experiment has been started.");
  return h("section", { id: "experiments" }, list.items.map((e) => h("table", { class: "data" },
    h("caption", {}, `Experiment ${e.name} (${e.status}, since ${fmt.date(e.started_at)}; ${e.endpoints.join(", ")})`),
    h("thead", {}, h("tr", {}, ["Arm", "Weight", "Bundle", "Requests", "Exposures", "Orders"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, e.arms.map((a) => h("tr", {}, h("td", {}, a.name), h("td", {}, fmt.pct(a.weight)), h("td", {}, a.bundle || "current"),
      h("td", {}, String(a.requests)), h("td", {}, String(a.exposures)), h("td", {}, String(a.orders))))))));
}

export async function experimentsPage(ctx, root) {
  const status = statusLine();
  const slot = h("div");
  const refresh = h("button", { type: "button", id: "refresh" }, "Refresh the counters");
  root.append(pageHeader("A/B experiments", "Arms and their live counters."), refresh, status.node, slot);
  const show = async () => {
    const list = await api("GET", "/v1/admin/experiments");
    clear(slot).append(experimentsView(list));
    status.info(`${list.items.length} experiments.`);
  };
  refresh.addEventListener("click", () => show().catch((err) => status.error(err)));
  await show();
}

export async function adminPage(ctx, root) {
  const status = statusLine();
  const slot = h("div");
  const reload = h("button", { type: "button", id: "reload" }, "Reload the newest bundle");
  root.append(pageHeader("Model bundle", "The bundle being served and its validation metrics."), reload, status.node, slot);
  const show = async () => clear(slot).append(bundleView(await api("GET", "/v1/admin/bundle")));
  reload.addEventListener("click", async () => {
    status.info("Reloading…");
    try {
      const result = await api("POST", "/v1/admin/reload");
      const what = result.changed ? "changed" : result.reloaded ? "loaded again" : "already served, nothing to load";
      status.info(`Serving ${result.model_run_id} (${what}, ${result.seconds} s).`);
      if (result.changed) await show();  // a new bundle: its manifest replaces the one shown
    } catch (err) {
      status.error(err);
    }
  });
  await show();
}
