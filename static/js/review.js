// Review queue and review page keyboard shortcuts (no inline JS: loaded as a module under a strict CSP).
//   Queue:  j/k move, Enter opens, a approve ("allow" items, undoable for 10 s), c request changes, r reject,
//           x select, u undo the decision just made, ? help
//   Review: a / c / r choose the outcome (c and r focus the reason box), ? help
// Shortcuts never fire while typing in a field or with a modifier key held.

// Radio buttons and checkboxes are not typing: "a" must still work right after choosing an outcome.
const NOT_TEXT = ["radio", "checkbox", "button", "submit", "reset"];
const isTyping = (target) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName) ||
    (target instanceof HTMLInputElement && !NOT_TEXT.includes(target.type)));

function showHelp() {
  const dialog = document.getElementById("shortcut-help");
  if (dialog && typeof dialog.showModal === "function" && !dialog.open) dialog.showModal();
}

// A shortcut pressed while the next page loads would act on the page being left (an "a" meant for the
// next item approved the wrong one): once a navigation starts, shortcuts stop until a page shows.
let navigating = false;
window.addEventListener("beforeunload", () => { navigating = true; });
window.addEventListener("pageshow", () => { navigating = false; });
const navigate = (go) => { navigating = true; go(); };

// The decision just made, with its "Undo" button for a few seconds (the server keeps the same window).
function undoToast() {
  const toast = document.querySelector("[data-undo]");
  if (!toast) return null;
  let left = Number.parseInt(toast.dataset.undoSeconds, 10) || 0;
  const label = toast.querySelector("[data-undo-countdown]");
  const form = toast.querySelector("[data-undo-form]");
  const tick = () => {
    left -= 1;
    if (left <= 0) {
      clearInterval(timer);
      if (form) form.remove();
      if (label) label.textContent = "";
      toast.removeAttribute("data-undo");
      return;
    }
    if (label) label.textContent = `Undo for ${left} s`;
  };
  const timer = setInterval(tick, 1000);
  if (form) form.addEventListener("submit", () => { navigating = true; clearInterval(timer); });
  return { undo: () => { if (form && form.isConnected) navigate(() => form.requestSubmit()); return Boolean(form && form.isConnected); } };
}

function queueShortcuts(root) {
  let index = -1;
  const toast = undoToast();
  const rows = () => Array.from(root.querySelectorAll("tr.queue-row"));

  function select(next) {
    const list = rows();
    if (!list.length) return null;
    index = Math.max(0, Math.min(list.length - 1, next));
    list.forEach((row, i) => {
      row.classList.toggle("is-selected", i === index);
      if (i === index) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
    const row = list[index];
    row.scrollIntoView({ block: "nearest" });
    row.focus({ preventScroll: true });
    return row;
  }

  const current = () => rows()[index] || select(0);

  function open(row, outcome) {
    if (!row) return;
    const url = new URL(row.dataset.href, window.location.origin);
    // No "#decision" fragment: scrolling to a fragment moves focus to the page, away from the reason box
    // the review page focuses on arrival. Focusing the box (or the submit button) scrolls it into view.
    if (outcome) url.searchParams.set("outcome", outcome);
    navigate(() => window.location.assign(url.toString()));
  }

  root.addEventListener("click", (event) => {
    const row = event.target instanceof Element ? event.target.closest("tr.queue-row") : null;
    if (row) select(rows().indexOf(row));
  });

  root.addEventListener("change", (event) => {
    const all = event.target instanceof Element ? event.target.closest("[data-select-all]") : null;
    if (!all) return;
    root.querySelectorAll('input[name="items"]').forEach((box) => { box.checked = all.checked; });
  });

  document.addEventListener("htmx:afterSwap", () => { index = -1; });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (navigating || event.repeat) {
      if (["j", "k", "a", "c", "r", "x", "u", "Enter"].includes(event.key)) event.preventDefault();
      return;
    }
    switch (event.key) {
      case "u": if (!toast || !toast.undo()) return; break;
      case "j": select(index + 1); break;
      case "k": select(index - 1); break;
      case "Enter": if (index >= 0) open(current()); else return; break;
      case "a": {
        const row = current();
        if (!row) return;
        const form = document.querySelector(`form[data-quick-approve="${row.id}"]`);
        if (form && row.dataset.verdict === "allow") navigate(() => form.requestSubmit());
        else open(row, "approve");
        break;
      }
      case "c": open(current(), "request_changes"); break;
      case "r": open(current(), "reject"); break;
      case "x": {
        const box = current()?.querySelector('input[name="items"]');
        if (box) box.checked = !box.checked;
        break;
      }
      case "?": showHelp(); break;
      default: return;
    }
    event.preventDefault();
  });
}

function decisionShortcuts() {
  const choose = (outcome, focusReason) => {
    const form = document.querySelector("[data-decision-form]");
    if (!form) return false;
    const radio = form.querySelector(`input[name="outcome"][value="${outcome}"]`);
    if (!radio) return false;
    radio.checked = true;
    const reason = form.querySelector("[data-reason]");
    if (focusReason && reason) reason.focus();
    else form.querySelector('button[type="submit"]')?.focus();
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    let handled = false;
    if (event.key === "a") handled = choose("approve", false);
    else if (event.key === "c") handled = choose("request_changes", true);
    else if (event.key === "r") handled = choose("reject", true);
    else if (event.key === "?") { showHelp(); handled = true; }
    if (handled) event.preventDefault();
  });

  // Arriving from the queue with ?outcome=... preselects the choice.
  const outcome = new URLSearchParams(window.location.search).get("outcome");
  if (outcome) choose(outcome, outcome !== "approve");
}

function copyFields() {
  document.querySelectorAll("[data-copy-field]").forEach((field) => {
    field.addEventListener("focus", () => field.select());
  });
}

// The review page answers a refused decision (409: someone decided first, or the image changed) and an
// invalid form (422) with the refreshed panel and the reason in plain words: show it. htmx's default is
// to drop 4xx responses, which left the reviewer looking at a stale form with no explanation.
function swapRefusals(root) {
  document.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if ((status === 409 || status === 422) && event.detail.target instanceof Element && root.contains(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
}

const queueRoot = document.querySelector("[data-review-queue]");
if (queueRoot) queueShortcuts(queueRoot);
const detailRoot = document.querySelector("[data-review-detail]");
if (detailRoot) {
  decisionShortcuts();
  swapRefusals(detailRoot);
}
copyFields();
