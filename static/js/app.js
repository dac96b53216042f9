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
  if (event.defaultPrevented) return; // another module refused this submit: nothing is sent, nothing is busy
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

// A table wider than the screen scrolls inside its .table-wrap: keyboard users must be able to reach
// and scroll it too (WCAG 2.1.1), so a wrap that actually scrolls becomes a focusable, named region.
function scrollableRegions(scope) {
  const base = scope && scope.querySelectorAll ? scope : document;
  for (const wrap of base.querySelectorAll(".table-wrap")) {
    if (wrap.scrollWidth <= wrap.clientWidth + 1 || wrap.hasAttribute("tabindex")) continue;
    wrap.setAttribute("tabindex", "0");
    wrap.setAttribute("role", "region");
    const caption = wrap.querySelector("caption");
    wrap.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table (scrolls sideways)");
  }
}
window.addEventListener("resize", () => scrollableRegions(document));

document.addEventListener("htmx:load", (event) => {
  enhance(event.detail && event.detail.elt);
  scrollableRegions(event.detail && event.detail.elt);
});
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => { enhance(document); scrollableRegions(document); });
} else {
  enhance(document);
  scrollableRegions(document);
}

root.classList.add("js");

// ---------------------------------------------------------------- htmx answers that are not 2xx
// htmx drops 4xx/5xx replies by default, so a refused request looked like nothing happened (a Generate
// with an empty template variable answered 422 and the screen stayed the same). Every page loads this:
// - 409/422 with an HTML fragment are the view's own answer (the form with its error, the refreshed
//   panel): swap them where the view said (hx-target, or HX-Retarget), then move focus to the error;
// - anything else (403, 404, 429, 5xx, a full error page, no answer at all) goes to the message region
//   under the header as an alert, in the words of the answer when it has any.
const SWAPPED_STATUSES = new Set([409, 422]);
const FALLBACK_WORDS = {
  0: "Could not reach the server. Check your connection, then try again.",
  400: "The request was not understood. Reload the page and try again.",
  403: "You don't have permission to do that here.",
  404: "That item no longer exists, or you can't open it. Reload the page.",
  413: "That upload is too large.",
  429: "Too many requests in a short time. Wait a moment, then try again.",
  502: "The server is not answering right now. Try again in a moment.",
  503: "The server is not answering right now. Try again in a moment.",
  504: "The server took too long to answer. Reload the page to see whether it went through.",
};

const squash = (text) => (text || "").replace(/\s+/g, " ").trim();

function isFullPage(text) {
  return /<html[\s>]|<!doctype/i.test((text || "").slice(0, 500));
}

// The words of an error answer: an element marked data-error-message (the error pages), an alert, a
// field error or a title; JSON's detail/message; short plain text. Else a sentence by status.
export function answerWords(xhr) {
  const status = xhr ? xhr.status : 0;
  const type = (xhr && xhr.getResponseHeader("Content-Type")) || "";
  const body = (xhr && xhr.responseText) || "";
  let words = "";
  if (type.includes("html") && body) {
    const doc = new DOMParser().parseFromString(body, "text/html");
    // In this order of preference (one selector list would answer whichever comes first in the page).
    for (const selector of ["[data-error-message]", "[role=alert]", ".alert-error", ".field-error", "main h1", "h1", "title"]) {
      const el = doc.querySelector(selector);
      words = el ? squash(el.textContent) : "";
      if (words) break;
    }
  } else if (type.includes("json") && body) {
    try {
      const data = JSON.parse(body);
      words = squash(typeof data === "string" ? data : data.detail || data.message || data.error || "");
    } catch (_) {
      words = "";
    }
  } else if (type.startsWith("text/plain")) {
    words = squash(body).slice(0, 300);
  }
  if (words) return words;
  if (FALLBACK_WORDS[status]) return FALLBACK_WORDS[status];
  return `Something went wrong on our side (error ${status}). Reload the page to see what was saved, then try again.`;
}

function messageRegion() {
  let region = document.getElementById("request-messages");
  if (!region) {
    region = document.createElement("div");
    region.id = "request-messages";
    region.className = "messages request-messages";
    const main = document.getElementById("main");
    (main ? main.parentNode : document.body).insertBefore(region, main || null);
  }
  return region;
}

// One message at a time (a poll failing every few seconds must not pile up alerts).
export function showRequestMessage(text, level = "error") {
  const region = messageRegion();
  const box = document.createElement("div");
  box.className = `alert alert-${level} alert-dismissible`;
  box.setAttribute("role", "alert");
  box.dataset.requestMessage = "";
  const bodyEl = document.createElement("div");
  bodyEl.className = "alert-body";
  bodyEl.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "alert-close";
  close.dataset.dismiss = "alert";
  close.setAttribute("aria-label", "Dismiss this message");
  close.textContent = "\u00d7";
  box.append(bodyEl, close);
  region.replaceChildren(box);
  if (box.getBoundingClientRect().top < 0) box.scrollIntoView({ block: "nearest" });
  return box;
}

function clearRequestMessage() {
  const region = document.getElementById("request-messages");
  if (region) region.replaceChildren();
}

let focusErrorIn = null;

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail || {};
  const xhr = detail.xhr;
  const status = xhr ? xhr.status : 0;
  if (status < 400) {
    if (status >= 200 && status < 300 && detail.requestConfig && detail.requestConfig.verb !== "get") clearRequestMessage();
    return;
  }
  if (SWAPPED_STATUSES.has(status) && xhr.responseText && !isFullPage(xhr.responseText)) {
    detail.shouldSwap = true;
    detail.isError = false;
    const target = detail.target instanceof Element ? detail.target : null;
    focusErrorIn = { id: target ? target.id : "", parent: target ? target.parentElement : null };
    clearRequestMessage();
    return;
  }
  detail.shouldSwap = false;
  showRequestMessage(answerWords(xhr));
});

// After a swapped refusal: focus the first invalid field, else the error itself, so keyboard and
// screen-reader users land on what to fix.
document.addEventListener("htmx:afterSettle", (event) => {
  if (!focusErrorIn) return;
  const { id, parent } = focusErrorIn;
  focusErrorIn = null;
  const settled = event.detail && event.detail.target;
  const scope = (id && document.getElementById(id)) || (settled && settled.isConnected && settled) || (parent && parent.isConnected && parent) || document;
  const field = scope.querySelector('[aria-invalid="true"]');
  const alert = scope.querySelector('[role="alert"], .field-error');
  const target = field || alert;
  if (!target) return;
  if (!field && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "nearest" });
});

document.addEventListener("htmx:sendError", () => showRequestMessage(FALLBACK_WORDS[0]));
document.addEventListener("htmx:timeout", () => showRequestMessage(FALLBACK_WORDS[504]));
