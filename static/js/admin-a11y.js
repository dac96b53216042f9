// Names for the Django admin controls its own templates leave unnamed (axe-core: "label", critical;
// "aria-prohibited-attr", serious). Loaded by templates/admin/base_site.html on every admin page.
// - A date-and-time field is two inputs after one label that points at neither: each input gets the
//   field's label plus "date" or "time".
// - The filter boxes' tooltip icons carry aria-label on a plain span: they become images with that name.
function nameSplitDateTimes() {
  document.querySelectorAll("p.datetime").forEach((box) => {
    const row = box.closest(".form-row, .fieldBox, td");
    const label = row?.querySelector("label")?.textContent.replace(/:\s*$/, "").trim() || "Date and time";
    box.querySelectorAll("input.vDateField").forEach((input) => {
      if (!input.labels.length && !input.hasAttribute("aria-label")) input.setAttribute("aria-label", `${label}, date`);
    });
    box.querySelectorAll("input.vTimeField").forEach((input) => {
      if (!input.labels.length && !input.hasAttribute("aria-label")) input.setAttribute("aria-label", `${label}, time`);
    });
  });
}

function nameTooltipIcons() {
  document.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach((icon) => icon.setAttribute("role", "img"));
}

function run() {
  nameSplitDateTimes();
  nameTooltipIcons();
}

// SelectFilter builds its boxes on window load; run again then.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
else run();
window.addEventListener("load", run);
