// Charts with Chart.js (the UMD build served at /console/vendor/chart.umd.min.js sets window.Chart).
// Every chart also gets a text table, so the figures are readable without the picture.

import { h } from "./ui.js";

const LABELS = {
  female: "Female", male: "Male",
  age_18_23: "18–23", age_24_30: "24–30", age_31_40: "31–40", age_41_50: "41–50", age_50_plus: "50+",
  tier_1: "Tier 1", tier_2: "Tier 2", tier_3: "Tier 3", tier_4_plus: "Tier 4+",
};
const GROUPS = [["gender", "Gender"], ["age", "Age"], ["city_tier", "City tier"]];

function shareRows(audience, target) {
  const rows = [];
  for (const [group, groupLabel] of GROUPS) {
    for (const [key, share] of Object.entries(audience[group])) {
      rows.push({ group: groupLabel, key, label: LABELS[key] || key, audience: share, target: target ? target[group][key] : null });
    }
  }
  return rows;
}

function shareTable(rows, hasTarget) {
  const pct = (v) => (v === null ? "–" : `${Math.round(v * 100)}%`);
  return h(
    "table",
    { class: "share-table" },
    h("caption", {}, "Audience shares"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Group"), h("th", { scope: "col" }, "Band"),
      h("th", { scope: "col" }, "Creator's audience"), hasTarget ? h("th", { scope: "col" }, "Your target buyers") : null)),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, r.group), h("td", {}, r.label), h("td", {}, pct(r.audience)),
      hasTarget ? h("td", {}, pct(r.target)) : null))),
  );
}

// A grouped bar chart of a creator's audience against the product's target (gender, age band, city tier).
export function audienceChart(audience, target, creatorName) {
  const rows = shareRows(audience, target);
  const summary = `Audience of ${creatorName} against the product's target buyers, share per gender, age band and city tier`;
  const canvas = h("canvas", { role: "img", "aria-label": summary, width: 640, height: 260 });
  const box = h("figure", { class: "chart" }, h("div", { class: "chart-canvas" }, canvas),
    h("details", {}, h("summary", {}, "Figures as a table"), shareTable(rows, Boolean(target))));
  if (!window.Chart) {
    box.prepend(h("p", { class: "muted" }, "Charts are unavailable (front-end assets not installed: run make setup)."));
    return box;
  }
  const datasets = [{ label: `${creatorName}'s audience`, data: rows.map((r) => r.audience * 100), backgroundColor: "#1f6feb" }];
  if (target) datasets.push({ label: "Your target buyers", data: rows.map((r) => r.target * 100), backgroundColor: "#d4731c" });
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: rows.map((r) => r.label), datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: "share (%)" } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  return box;
}

// Places the product gains in one creator's pool; entering the pool counts +1, leaving it -1.
function placesGained(today, proposed) {
  if (today !== null && proposed !== null) return today - proposed;
  return proposed !== null ? 1 : -1;
}

// What-if: each examined creator's change of place for the product (positive = the product ranks higher).
export function rankChangeChart(creators) {
  const moved = creators
    .map((c) => ({ id: c.creator_id, today: c.rank_today, proposed: c.rank_proposed }))
    .filter((c) => c.today !== null || c.proposed !== null)
    .map((c) => ({ ...c, change: placesGained(c.today, c.proposed) }))
    .sort((a, b) => b.change - a.change)
    .slice(0, 60);
  const summary = `Change of the product's place in ${moved.length} creators' pools at the proposed rate (positive: higher)`;
  const canvas = h("canvas", { role: "img", "aria-label": summary, width: 900, height: 260 });
  const rows = moved.map((c) => h("tr", {}, h("td", {}, c.id), h("td", {}, c.today ?? "not listed"), h("td", {}, c.proposed ?? "not listed")));
  const box = h("figure", { class: "chart", id: "rank-chart" }, h("figcaption", {}, "Rank change per creator"),
    h("div", { class: "chart-canvas" }, canvas),
    h("details", {}, h("summary", {}, "Figures as a table"), h("table", { class: "share-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Creator"), h("th", { scope: "col" }, "Rank today"), h("th", { scope: "col" }, "Rank proposed"))),
      h("tbody", {}, rows))));
  if (!window.Chart) return box;
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: moved.map((c) => c.id), datasets: [{ label: "places gained", data: moved.map((c) => c.change),
      backgroundColor: moved.map((c) => (c.change >= 0 ? "#116329" : "#b3261e")) }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { title: { display: true, text: "places gained" } }, x: { ticks: { display: false } } } },
  });
  return box;
}

// A creator's daily GMV over the asked window (line), with the orders and promotions started in the text table.
export function trendChart(trend, creatorName) {
  const yuan = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const active = trend.points.filter((p) => p.promotions > 0);
  const summary = `Daily GMV of ${creatorName} over ${trend.days} days (${trend.start} to ${trend.end}): ¥${yuan.format(trend.total_gmv)} from ${trend.total_promotions} promotions`;
  const canvas = h("canvas", { role: "img", "aria-label": summary, width: 640, height: 220 });
  const rows = active.map((p) => h("tr", {}, h("td", {}, p.date), h("td", {}, `¥${yuan.format(p.gmv)}`), h("td", {}, p.orders), h("td", {}, p.promotions)));
  const box = h("figure", { class: "chart trend-chart" },
    h("figcaption", {}, `GMV per day, last ${trend.days} days: ¥${yuan.format(trend.total_gmv)}, ${trend.total_orders} orders, ${trend.total_promotions} promotions (sales counted on the day a promotion started)`),
    h("div", { class: "chart-canvas" }, canvas),
    h("details", {}, h("summary", {}, "Days with promotions as a table"), h("table", { class: "share-table" },
      h("thead", {}, h("tr", {}, ["Day", "GMV", "Orders", "Promotions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4 }, "No promotion started in this window."))))));
  if (!window.Chart) {
    box.prepend(h("p", { class: "muted" }, "Charts are unavailable (front-end assets not installed: run make setup)."));
    return box;
  }
  new window.Chart(canvas, {
    type: "line",
    data: { labels: trend.points.map((p) => p.date), datasets: [{ label: "GMV (¥)", data: trend.points.map((p) => p.gmv),
      borderColor: "#1f6feb", backgroundColor: "#1f6feb", pointRadius: 0, borderWidth: 2, tension: 0 }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, title: { display: true, text: "GMV (¥)" } }, x: { ticks: { maxTicksLimit: 10 } } } },
  });
  return box;
}
