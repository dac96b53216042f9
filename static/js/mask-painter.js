// Mask painter: paint the part of an image that an edit should change.
//
// Why it exists: the image API's edits take a mask PNG at exactly the base image's pixel size, where
// alpha 0 marks the area to change. Marketers think "make the sky warmer *here*"; this turns a few brush
// strokes into that PNG. It is a progressive enhancement of templates/studio/partials/mask_painter.html:
// without JavaScript the toolbar stays hidden, the hidden input stays empty and the form still works
// for instruction-only edits. The server re-validates everything (studio/uploads.py: validate_mask).
//
// Issue 14: painting happens on the large image (the variant page's main column), not a thumbnail, with
// zoom and pan (buttons, +/-/0, arrow keys, Ctrl+wheel, the Move tool or Space+drag) so small details can
// be marked. Zoom is a CSS transform of the image and its paint layer together (static/js/zoom-pan.js);
// the paint layer itself always has the image's exact pixel size, so the exported mask does too.
// With data-mask-toggle the painter starts closed beside a plain view of the image (the element with
// data-mask-view="<painter id>") and a switch opens it, so the page's other overlays (review pins) stay
// usable when nobody is painting.
//
// Constraints: vanilla ES module, no build step, no eval, no inline script or style attributes (the
// Content Security Policy is script-src 'self'; style-src 'self'). Appearance lives in the "edit studio"
// section of static/css/app.css; the only styles set from here are CSSOM properties (the brush cursor's
// position and size, the zoom transform), which CSP allows.
//
// Markup contract and keyboard keys: docs/edit-studio.md.

import { MaskPainter, registry } from "./mask-canvas.js";

// ---------------------------------------------------------------------------------------------- keys
function isTextEntry(element) {
  if (!(element instanceof Element)) return false;
  if (element.isContentEditable) return true;
  if (element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) return true;
  if (element instanceof HTMLInputElement) {
    return !["range", "button", "submit", "reset", "checkbox", "radio", "hidden"].includes(element.type);
  }
  return false;
}

const { painters } = registry;

function activePainter(event) {
  const target = event.target instanceof Element ? event.target : null;
  const inside = target && painters.find((p) => p.root.contains(target));
  if (inside) return inside;
  const { lastUsed } = registry;
  if (lastUsed && document.contains(lastUsed.root)) return lastUsed;
  const live = painters.filter((p) => document.contains(p.root));
  return live.length === 1 ? live[0] : null;
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || isTextEntry(event.target)) return;
  const painter = activePainter(event);
  if (!painter || !painter.open) return;
  const ctrl = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  let handled = true;
  if (ctrl && key === "z" && event.shiftKey) painter.redo();
  else if (ctrl && key === "z") painter.undo();
  else if (ctrl && key === "y") painter.redo();
  else if (ctrl) handled = false;
  else if (key === "b") painter.setTool("brush");
  else if (key === "e") painter.setTool("eraser");
  else if (event.key === "[") painter.stepBrushSize(-1);
  else if (event.key === "]") painter.stepBrushSize(1);
  else if (key === "h" || key === "m") painter.setTool("move");
  else if (event.key === "+" || event.key === "=") painter.zoomAction("zoom-in");
  else if (event.key === "-" || event.key === "_") painter.zoomAction("zoom-out");
  else if (event.key === "0") painter.zoomAction("zoom-reset");
  else handled = false;
  if (handled) event.preventDefault();
});

// Capture phase on the document: runs before any handler on the form itself (htmx included), so the
// submitted value is always the latest painting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  for (const painter of painters) if (painter.input.form === form) painter.sync();
}, true);

// ---------------------------------------------------------------------------------------------- init
const ready = new WeakSet();

export function initMaskPainters(scope = document) {
  const roots = scope.querySelectorAll ? scope.querySelectorAll("[data-mask-painter]") : [];
  const found = [];
  const candidates = scope instanceof Element && scope.matches("[data-mask-painter]") ? [scope, ...roots] : roots;
  for (const root of candidates) {
    if (ready.has(root)) continue;
    if (!root.querySelector("[data-mask-canvas]") || !root.querySelector("[data-mask-input]")) continue;
    ready.add(root);
    const painter = new MaskPainter(root);
    painters.push(painter);
    found.push(painter);
  }
  return found;
}

export { MaskPainter };

initMaskPainters();
// htmx swaps in new content without a page load: enhance painters that arrive that way too.
document.addEventListener("htmx:load", (event) => initMaskPainters(event.target));
