// Region-pinned comments: drag a box on the image to fill the comment form's hidden x/y/w/h inputs
// (0..1 image coordinates), and place existing pins from their data attributes. Positions are set
// through CSS custom properties from script, because the CSP forbids inline style attributes.

const clamp = (value) => Math.min(1, Math.max(0, value));

function placePins(layer) {
  layer.querySelectorAll("[data-pin], [data-pin-box]").forEach((el) => {
    const x = parseFloat(el.dataset.x || "0");
    const y = parseFloat(el.dataset.y || "0");
    el.style.setProperty("--pin-x", `${x * 100}%`);
    el.style.setProperty("--pin-y", `${y * 100}%`);
    if (el.hasAttribute("data-pin-box")) {
      el.style.setProperty("--pin-w", `${parseFloat(el.dataset.w || "0") * 100}%`);
      el.style.setProperty("--pin-h", `${parseFloat(el.dataset.h || "0") * 100}%`);
    }
  });
}

function formFor(layer) {
  return document.getElementById(layer.dataset.pinForm || "comment-form");
}

function setBox(layer, box) {
  const form = formFor(layer);
  if (!form) return;
  for (const key of ["x", "y", "w", "h"]) {
    const input = form.querySelector(`input[name="${key}"]`);
    if (input) input.value = box ? box[key].toFixed(4) : "";
  }
  const status = form.querySelector("[data-pin-status]");
  if (status) status.textContent = box ? "This comment will be pinned to the marked area." : "Optional: drag on the image to pin this comment to an area.";
  const clear = form.querySelector("[data-pin-clear]");
  if (clear) clear.hidden = !box;
  if (box) form.querySelector("textarea")?.focus();
}

function enableDrawing(layer) {
  const image = layer.querySelector("img");
  if (!image) return;
  let start = null;
  // The box being drawn lives in the layer (not in a variable) so a saved comment can clear it.
  const draftBox = () => layer.querySelector(".comment-box.is-drawing");

  const point = (event) => {
    const rect = image.getBoundingClientRect();
    return { x: clamp((event.clientX - rect.left) / rect.width), y: clamp((event.clientY - rect.top) / rect.height) };
  };
  const boxOf = (a, b) => ({ x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) });
  const draw = (box) => {
    let draft = draftBox();
    if (!draft) {
      draft = document.createElement("span");
      draft.className = "comment-box is-drawing";
      draft.setAttribute("aria-hidden", "true");
      layer.appendChild(draft);
    }
    draft.style.setProperty("--pin-x", `${box.x * 100}%`);
    draft.style.setProperty("--pin-y", `${box.y * 100}%`);
    draft.style.setProperty("--pin-w", `${box.w * 100}%`);
    draft.style.setProperty("--pin-h", `${box.h * 100}%`);
  };

  image.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    start = point(event);
    image.setPointerCapture(event.pointerId);
  });
  image.addEventListener("pointermove", (event) => {
    if (start) draw(boxOf(start, point(event)));
  });
  image.addEventListener("pointerup", (event) => {
    if (!start) return;
    const box = boxOf(start, point(event));
    start = null;
    if (box.w < 0.01 || box.h < 0.01) {  // a click, not a drag: a small box centred on the point
      box.x = clamp(box.x - 0.03); box.y = clamp(box.y - 0.03);
      box.w = Math.min(0.06, 1 - box.x); box.h = Math.min(0.06, 1 - box.y);
    }
    draw(box);
    setBox(layer, box);
  });

  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element) || !event.target.closest("[data-pin-clear]")) return;
    draftBox()?.remove();
    setBox(layer, null);
  });

  // After the comments panel is swapped: a saved comment comes back with an empty form, so the drawn
  // box is now a pin of its own; a refused one comes back with the box still filled in, so keep it.
  document.addEventListener("htmx:afterSwap", (event) => {
    const form = formFor(layer);
    if (!form || !(event.detail.target instanceof Element) || event.detail.target.id !== "comments") return;
    const x = form ? form.querySelector('input[name="x"]') : null;
    if (form && x && !x.value) draftBox()?.remove();
    else if (form && x && x.value) setBox(layer, boxFromForm(form));
  });
}

function boxFromForm(form) {
  const value = (key) => parseFloat(form.querySelector(`input[name="${key}"]`)?.value || "");
  const box = { x: value("x"), y: value("y"), w: value("w"), h: value("h") };
  return Object.values(box).every((v) => Number.isFinite(v)) ? box : null;
}

function init(root = document) {
  root.querySelectorAll("[data-pin-layer]").forEach((layer) => {
    placePins(layer);
    if (!layer.dataset.pinReady) {
      layer.dataset.pinReady = "1";
      enableDrawing(layer);
    }
  });
}

init();
document.addEventListener("htmx:afterSettle", () => init());
