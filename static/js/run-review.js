// Run review grid: arrow keys move between images (roving focus), Space selects, "a" / "r" approve or
// reject the selection after a confirmation dialog (reject asks for the reason). Without this module the
// buttons post without confirmation and the server answers with its own confirmation step.
// No inline JS (strict CSP): loaded as a module. The grid region is replaced by htmx after a decision,
// so every lookup starts from the document, never from a stored element.

const NOT_TEXT = ["radio", "checkbox", "button", "submit", "reset"];
const isTyping = (target) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName) ||
    (target instanceof HTMLInputElement && !NOT_TEXT.includes(target.type)));

const form = () => document.querySelector("[data-run-bulk-form]");
const dialog = () => form()?.querySelector("[data-run-confirm]");
const items = () => Array.from(form()?.querySelectorAll("[data-run-item]") || []);
const boxes = () => Array.from(form()?.querySelectorAll('input[name="items"]') || []);
const button = (outcome) => form()?.querySelector(`[data-bulk-action="${outcome}"]`);
const currentItem = () => form()?.querySelector("[data-run-item].is-current") || null;

function focusItem(item) {
  if (!item) return;
  items().forEach((el) => { el.tabIndex = -1; el.classList.remove("is-current"); });
  item.tabIndex = 0;
  item.classList.add("is-current");
  item.focus();
}

function vertical(item, step) {
  // The same format (column) in the next locale row that has an image.
  const td = item.closest("td");
  const column = td.cellIndex;
  let row = td.parentElement;
  for (row = step > 0 ? row.nextElementSibling : row.previousElementSibling; row;
    row = step > 0 ? row.nextElementSibling : row.previousElementSibling) {
    const target = row.cells[column]?.querySelector("[data-run-item]");
    if (target) return target;
  }
  return null;
}

function countSelected() {
  const n = boxes().filter((box) => box.checked).length;
  const counter = document.querySelector("[data-selection-count]");
  if (counter) counter.textContent = n ? `${n} image${n === 1 ? "" : "s"} selected.` : "Nothing selected yet.";
  return n;
}

function toggle(item) {
  const box = item?.querySelector('input[name="items"]');
  if (!box) return;
  box.checked = !box.checked;
  countSelected();
}

function confirmDecision(outcome) {
  const box = dialog();
  const action = button(outcome);
  if (!action) return;
  const n = countSelected();
  if (!box || typeof box.showModal !== "function") { form().requestSubmit(action); return; }
  const title = box.querySelector("[data-confirm-title]");
  const text = box.querySelector("[data-confirm-text]");
  const noteField = box.querySelector("[data-confirm-note-field]");
  const go = box.querySelector("[data-confirm-go]");
  if (!n) {
    title.textContent = "Nothing selected";
    text.textContent = "Select images first: move with the arrow keys and press Space.";
    noteField.hidden = true;
    go.hidden = true;
  } else {
    const verb = outcome === "reject" ? "Reject" : "Approve";
    title.textContent = `${verb} ${n} image${n === 1 ? "" : "s"}?`;
    text.textContent = "Each image is decided on its own with every review rule checked; any that cannot be decided are listed with the reason.";
    noteField.hidden = outcome !== "reject";
    go.hidden = false;
    go.textContent = `${verb} ${n}`;
    go.dataset.outcome = outcome;
  }
  box.showModal();
  const target = !n ? box.querySelector("[data-confirm-cancel]") : outcome === "reject" ? noteField.querySelector("textarea") : go;
  target.focus();
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target || !form()?.contains(target)) return;
  const action = target.closest("[data-bulk-action]");
  if (action && !form().dataset.confirmed) {
    event.preventDefault();
    confirmDecision(action.dataset.bulkAction);
    return;
  }
  if (target.closest("[data-confirm-cancel]")) {
    dialog().close();
    currentItem()?.focus();
    return;
  }
  const go = target.closest("[data-confirm-go]");
  if (go) {
    const note = dialog().querySelector("textarea");
    if (go.dataset.outcome === "reject" && !note.value.trim()) {
      note.setAttribute("aria-invalid", "true");
      note.focus();
      return;
    }
    dialog().querySelector("[data-confirmed]").value = "on";
    // The outcome as a field of its own: a submitter button's value is not sent by every path (htmx,
    // buttons disabled while busy), and the form is replaced after the answer anyway.
    const outcome = document.createElement("input");
    outcome.type = "hidden";
    outcome.name = "outcome";
    outcome.value = go.dataset.outcome;
    form().append(outcome);
    form().dataset.confirmed = "1";
    dialog().close();
    form().requestSubmit();
    return;
  }
  const item = target.closest("[data-run-item]");
  if (item && !target.closest("a, input, label")) focusItem(item);
});

document.addEventListener("change", (event) => {
  if (event.target instanceof Element && form()?.contains(event.target)) countSelected();
});

document.addEventListener("keydown", (event) => {
  if (!form() || event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) return;
  if (dialog()?.open || document.getElementById("shortcut-help")?.open) return;
  if (event.key === "?") {
    const help = document.getElementById("shortcut-help");
    if (help && typeof help.showModal === "function") help.showModal();
    return;
  }
  const list = items();
  if (!list.length) return;
  const here = currentItem();
  let next = null;
  switch (event.key) {
    case "ArrowRight": next = here ? list[Math.min(list.length - 1, list.indexOf(here) + 1)] : list[0]; break;
    case "ArrowLeft": next = here ? list[Math.max(0, list.indexOf(here) - 1)] : list[0]; break;
    case "ArrowDown": next = here ? vertical(here, 1) || here : list[0]; break;
    case "ArrowUp": next = here ? vertical(here, -1) || here : list[0]; break;
    case " ":
      if (here && event.target === here) { event.preventDefault(); toggle(here); }
      return;
    case "Enter": {
      const link = here && event.target === here ? here.querySelector("a") : null;
      if (link) { event.preventDefault(); link.click(); }
      return;
    }
    case "a": case "r":
      event.preventDefault();
      confirmDecision(event.key === "a" ? "approve" : "reject");
      return;
    default: return;
  }
  event.preventDefault();
  focusItem(next);
});

function init() {
  const first = items()[0];
  if (first && !currentItem()) first.tabIndex = 0;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
document.addEventListener("htmx:load", init);  // fired on swapped-in content (afterSwap may fire on the detached old element)
