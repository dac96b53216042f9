// Imprimatur UI glue: small, generic, no app logic. Loaded as a module on every page.
//
// Why it exists: the Content Security Policy forbids inline scripts and style="" attributes, so the
// few behaviours that need JavaScript (busy state on htmx requests, dismissible alerts, closing menus,
// positioning elements from data attributes) live here, in one file served from 'self'.

const root = document.documentElement;

// ---------------------------------------------------------------- htmx busy state
// aria-busy on the element that made the request (and on the submit button that triggered a form),
// so assistive tech hears "busy" and the stylesheet can show a spinner on the button.
function submitterOf(detail) {
  const event = detail && detail.requestConfig && detail.requestConfig.triggeringEvent;
  return event && event.submitter ? event.submitter : null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail && event.detail.elt;
  if (!elt) return;
  elt.setAttribute("aria-busy", "true");
  const submitter = submitterOf(event.detail);
  if (submitter) submitter.setAttribute("aria-busy", "true");
});

document.addEventListener("htmx:afterRequest", (event) => {
  const elt = event.detail && event.detail.elt;
  if (!elt) return;
  elt.removeAttribute("aria-busy");
  const submitter = submitterOf(event.detail);
  if (submitter) submitter.removeAttribute("aria-busy");
});

// A plain (non-htmx) form submit can take a moment too: mark its submit button busy once, which also
// stops a second click from sending the form twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
  const button = event.submitter;
  if (button && button.classList.contains("btn") && !button.hasAttribute("data-no-busy")) {
    if (button.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    button.setAttribute("aria-busy", "true");
  }
});

// Going back to a page from the bfcache must not leave buttons spinning.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll('.btn[aria-busy="true"]').forEach((b) => b.removeAttribute("aria-busy"));
});

// ---------------------------------------------------------------- dismissible alerts
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const close = target && target.closest("[data-dismiss]");
  if (!close) return;
  const box = close.closest(close.getAttribute("data-dismiss") === "alert" ? ".alert" : close.dataset.dismiss);
  if (!box) return;
  const next = document.getElementById("main");
  box.remove();
  if (next && document.activeElement === document.body) next.focus({ preventScroll: true });
});

// ---------------------------------------------------------------- <details class="menu">
// Close open menus on Escape (returning focus to the summary) and on a click elsewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    menu.open = false;
    const summary = menu.querySelector("summary");
    if (summary && menu.contains(document.activeElement)) summary.focus();
  });
});

document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});

// ---------------------------------------------------------------- data-driven positions
// Custom properties set through the CSSOM are allowed by style-src 'self' (inline attributes are not).
// data-pin-x / data-pin-y / data-pin-w / data-pin-h are percentages; data-progress is 0..100.
const pct = (value) => {
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? `${Math.min(100, Math.max(0, n))}%` : null;
};

function enhance(scope) {
  const base = scope && scope.querySelectorAll ? scope : document;
  const nodes = [...base.querySelectorAll("[data-pin-x], [data-progress]")];
  if (base instanceof Element && base.matches("[data-pin-x], [data-progress]")) nodes.push(base);
  for (const el of nodes) {
    for (const [attr, prop] of [["pinX", "--pin-x"], ["pinY", "--pin-y"], ["pinW", "--pin-w"], ["pinH", "--pin-h"], ["progress", "--progress"]]) {
      const value = pct(el.dataset[attr]);
      if (value !== null) el.style.setProperty(prop, value);
    }
  }
}

document.addEventListener("htmx:load", (event) => enhance(event.detail && event.detail.elt));
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhance(document));
} else {
  enhance(document);
}

root.classList.add("js");
