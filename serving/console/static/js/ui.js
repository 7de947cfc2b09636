// DOM helpers: elements are built with textContent only (never innerHTML with data), so API text cannot inject.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const yuanFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const countFormat = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const fmt = {
  yuan: (v) => (v === null || v === undefined ? "–" : `¥${yuanFormat.format(v)}`),
  interval: (i) => (i ? `${fmt.yuan(i.low)}–${fmt.yuan(i.high)}` : "–"),
  count: (v) => (v === null || v === undefined ? "–" : countFormat.format(v)),
  pct: (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`),
  ratio: (v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)}×`),
  date: (v) => (v ? new Date(v).toISOString().slice(0, 16).replace("T", " ") : "–"),
};

// A status line (role="status") shared by a page: messages and errors are announced to screen readers.
export function statusLine() {
  const node = h("p", { class: "status", role: "status", "aria-live": "polite" });
  return {
    node,
    info(text) {
      node.className = "status";
      node.textContent = text;
    },
    error(err) {
      node.className = "status status-error";
      node.textContent = err && err.message ? `Error: ${err.message}` : `Error: ${err}`;
    },
    clear() {
      node.className = "status";
      node.textContent = "";
    },
  };
}

// A labelled form field. `type` "select" takes `options` ([value, label] pairs).
export function field(name, label, { type = "text", options = [], value = "", hint = "", ...attrs } = {}) {
  const id = `f-${name}`;
  let control;
  if (type === "select") {
    control = h("select", { id, name, ...attrs }, options.map(([v, text]) => h("option", { value: v }, text)));
    control.value = value;
  } else if (type === "checkbox") {
    control = h("input", { id, name, type, ...attrs });
    control.checked = Boolean(value);
  } else {
    control = h("input", { id, name, type, value, ...attrs });
  }
  const error = h("span", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  control.setAttribute("aria-describedby", `${id}-error`);
  return h("div", { class: `field field-${type}` }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null, error);
}

// Values of a form's named controls: numbers stay strings (the API parses), unchecked boxes are false.
export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name) continue;
    values[control.name] = control.type === "checkbox" ? control.checked : control.value.trim();
  }
  return values;
}

// Show an API error next to the fields it names (details[].loc, or a rule code mapped by `codeFields`).
export function showFieldErrors(form, err, codeFields = {}) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  let shown = 0;
  for (const detail of err.details || []) {
    const loc = Array.isArray(detail.loc) ? detail.loc : [];
    const last = loc.length ? loc[loc.length - 1] : null;
    const name = codeFields[detail.code] || codeFields[last] || loc.find((part) => form.querySelector(`#f-${part}-error`));
    const slot = name ? form.querySelector(`#f-${name}-error`) : null;
    if (!slot) continue;
    slot.textContent = detail.message || detail.msg || detail.code;
    shown += 1;
  }
  return shown;
}

export function reasonsList(reasons) {
  if (!reasons || !reasons.length) return h("p", { class: "muted" }, "No stated reasons.");
  return h("ul", { class: "reasons" }, reasons.map((r) => h("li", { "data-code": r.code }, r.text)));
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}

export function pageHeader(title, subtitle) {
  return h("header", { class: "page-header" }, h("h1", {}, title), subtitle ? h("p", { class: "muted" }, subtitle) : null);
}
