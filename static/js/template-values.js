// Template values on the draft forms (templates/studio/partials/template_values.html).
//
// One labelled field per {placeholder} of the prompt, or of the picked template while the prompt is empty
// (the server starts the draft from the template then). Fields come and go as the prompt changes; a value
// typed for a placeholder that is removed and typed again comes back. The JSON textarea ("Advanced") is
// kept in step both ways. The page's Generate button ([data-requires-values]) stays disabled while a value
// is missing, with the reason next to it; the server checks everything again on save and on Generate.
const PLACEHOLDER = /\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;
const PREFIX = "value__";

function placeholders(text) {
  const names = [];
  for (const match of (text || "").matchAll(PLACEHOLDER)) {
    if (!names.includes(match[1])) names.push(match[1]);
  }
  return names;
}

function label(name) {
  const words = name.replace(/_/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : name;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function parseJson(text) {
  if (!text.trim()) return { ok: true, values: {} };
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { ok: false };
    const values = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "string" && typeof item !== "number") return { ok: false };
      values[key] = String(item);
    }
    return { ok: true, values };
  } catch {
    return { ok: false };
  }
}

function setup(fieldset) {
  const form = fieldset.closest("form");
  if (!form || fieldset.dataset.ready) return;
  fieldset.dataset.ready = "1";
  const prompt = form.querySelector("[name=text]");
  const picker = form.querySelector("[name=template]");
  const list = fieldset.querySelector("[data-value-fields]");
  const none = fieldset.querySelector("[data-no-placeholders]");
  const status = fieldset.querySelector("[data-values-status]");
  const json = fieldset.querySelector("[data-values-json]");
  const jsonError = fieldset.querySelector("[data-json-error]");
  const preview = form.querySelector("[data-template-preview]");
  const remembered = {}; // values of placeholders no longer in the prompt, restored if they come back
  let extras = {}; // JSON names the prompt does not use (kept, as the server keeps them)
  let touched = false;

  const fieldFor = (name) => list.querySelector(`[data-value-field="${CSS.escape(name)}"]`);
  const inputFor = (name) => fieldFor(name)?.querySelector("input");
  const names = () => Array.from(list.querySelectorAll("[data-value-field]")).map((f) => f.dataset.valueField);

  function sourceText() {
    const typed = prompt ? prompt.value : "";
    if (typed.trim() || !picker) return typed;
    return picker.selectedOptions[0]?.dataset.text || "";
  }

  function makeField(name) {
    const id = `id_${PREFIX}${name}`;
    const wrap = el("div", { class: "field", "data-value-field": name });
    const lab = el("label", { for: id }, `${label(name)} `);
    lab.append(el("span", { class: "mono muted small" }, `{${name}}`));
    const input = el("input", {
      type: "text", name: `${PREFIX}${name}`, id, maxlength: "2000", autocomplete: "off",
      "data-template-value": name, "aria-describedby": `${id}_error`,
    });
    input.value = remembered[name] ?? "";
    const error = el("div", { class: "field-error", "data-value-error": "", role: "alert", id: `${id}_error` });
    error.hidden = true;
    wrap.append(lab, input, error);
    return wrap;
  }

  function values() {
    const out = {};
    for (const name of names()) out[name] = inputFor(name).value;
    return out;
  }

  function writeJson() {
    const all = { ...extras };
    for (const [name, value] of Object.entries(values())) {
      if (value.trim()) all[name] = value.trim();
    }
    json.value = Object.keys(all).length ? JSON.stringify(all) : "";
    jsonError.hidden = true;
    json.removeAttribute("aria-invalid");
  }

  function showPreview() {
    if (!preview || !picker) return;
    const text = picker.selectedOptions[0]?.dataset.text || "";
    preview.hidden = !text;
    if (!text) return;
    const body = preview.querySelector("[data-template-preview-text]");
    body.replaceChildren();
    let last = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      body.append(document.createTextNode(text.slice(last, match.index)));
      body.append(el("code", { class: "template-placeholder" }, match[0]));
      last = match.index + match[0].length;
    }
    body.append(document.createTextNode(text.slice(last)));
    const found = placeholders(text);
    preview.querySelector("[data-template-preview-names]").textContent = found.length
      ? `Values to fill in: ${found.join(", ")}.`
      : "This template has no values to fill in.";
  }

  function syncFields() {
    const wanted = placeholders(sourceText());
    for (const name of names()) {
      if (!wanted.includes(name)) {
        remembered[name] = inputFor(name).value;
        fieldFor(name).remove();
      }
    }
    wanted.forEach((name, index) => {
      let field = fieldFor(name);
      if (!field) field = makeField(name);
      const at = list.children[index];
      if (at !== field) list.insertBefore(field, at || null);
    });
    none.hidden = wanted.length > 0;
  }

  function validate({ show = touched } = {}) {
    const missing = [];
    for (const name of names()) {
      const input = inputFor(name);
      const error = fieldFor(name).querySelector("[data-value-error]");
      const empty = !input.value.trim();
      if (empty) missing.push(name);
      if (show || !error.hidden) {
        error.hidden = !empty;
        error.textContent = empty ? `Fill in a value for {${name}}, or take {${name}} out of the prompt.` : "";
        if (empty) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
        fieldFor(name).classList.toggle("field-invalid", empty);
      }
    }
    const jsonOk = parseJson(json.value).ok;
    const total = names().length;
    status.textContent = total
      ? missing.length
        ? `${total - missing.length} of ${total} values filled in; missing: ${missing.join(", ")}.`
        : `All ${total} values filled in.`
      : "";
    const ready = missing.length === 0 && jsonOk;
    // Looked up each time: htmx may have swapped the Generate form since.
    for (const button of document.querySelectorAll("[data-requires-values]")) guard(button, ready, missing);
    return ready;
  }

  function guard(button, ready, missing) {
    // The saved version can lack values too (the server says so on the button): both must be fine.
    const serverBlocked = button.dataset.blockedBySaved === "1";
    const note = document.getElementById(button.dataset.requiresValues);
    const blocked = serverBlocked || !ready;
    button.disabled = blocked;
    if (!note) return;
    if (!ready) {
      note.textContent = `Fill in ${missing.length ? missing.map((n) => `{${n}}`).join(", ") : "the template values"} in the prompt form, then save a new version: Generate uses the saved version.`;
    } else if (serverBlocked) {
      note.textContent = "Save a new version with these values first: Generate uses the saved version.";
    } else {
      note.textContent = "";
    }
    note.hidden = !note.textContent;
  }

  function fromJson() {
    const parsed = parseJson(json.value);
    jsonError.hidden = parsed.ok;
    jsonError.textContent = parsed.ok ? "" : 'Not valid yet: write the values as {"name": "value"}.';
    if (parsed.ok) json.removeAttribute("aria-invalid");
    else json.setAttribute("aria-invalid", "true");
    if (!parsed.ok) return;
    const current = names();
    extras = {};
    for (const [key, value] of Object.entries(parsed.values)) {
      if (current.includes(key)) inputFor(key).value = value;
      else extras[key] = value;
    }
    for (const name of current) {
      if (!(name in parsed.values)) inputFor(name).value = "";
    }
  }

  // Start from what the server drew: JSON names without a field are extras.
  const initial = parseJson(json.value);
  if (initial.ok) {
    for (const [key, value] of Object.entries(initial.values)) {
      if (!fieldFor(key)) extras[key] = value;
    }
  }
  syncFields();
  showPreview();
  validate({ show: Array.from(list.querySelectorAll("[data-value-error]")).some((e) => !e.hidden) });

  prompt?.addEventListener("input", () => { syncFields(); writeJson(); validate(); });
  picker?.addEventListener("change", () => { showPreview(); syncFields(); writeJson(); validate(); });
  list.addEventListener("input", () => { writeJson(); validate(); });
  list.addEventListener("focusout", (event) => {
    if (event.target.matches("[data-template-value]") && !event.target.value.trim()) {
      touched = true;
      validate();
    }
  });
  json.addEventListener("input", () => { fromJson(); validate(); });
  revalidators.push(() => validate());
  form.addEventListener("submit", (event) => {
    touched = true;
    if (!validate({ show: true })) {
      event.preventDefault();
      // app.js marks a submitted form's button busy (and then refuses a second submit) without looking
      // at defaultPrevented: this submit never left, so the button is not busy.
      const button = event.submitter;
      if (button) window.setTimeout(() => button.removeAttribute("aria-busy"), 0);
      const first = list.querySelector("[aria-invalid=true]") || (parseJson(json.value).ok ? null : json);
      if (first === json) fieldset.querySelector("details").open = true;
      first?.focus();
    }
  });
}

const revalidators = [];

function init(root = document) {
  root.querySelectorAll("[data-template-values]").forEach(setup);
}

init();
document.addEventListener("htmx:afterSettle", (event) => {
  init(event.target);
  revalidators.forEach((revalidate) => revalidate()); // a swapped-in Generate button gets the same state
});
