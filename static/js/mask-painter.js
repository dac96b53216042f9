// Mask painter: paint the part of an image that an edit should change.
//
// Why it exists: the image API's edits take a mask PNG at exactly the base image's pixel size, where
// alpha 0 marks the area to change. Marketers think "make the sky warmer *here*"; this turns a few brush
// strokes into that PNG. It is a progressive enhancement of templates/studio/partials/mask_painter.html:
// without JavaScript the toolbar stays hidden, the hidden input stays empty and the form still works
// for instruction-only edits. The server re-validates everything (studio/uploads.py: validate_mask).
//
// Constraints: vanilla ES module, no build step, no eval, no inline script or style attributes (the
// Content Security Policy is script-src 'self'; style-src 'self'). Appearance lives in
// static/css/edit-studio.css; the only styles set from here are CSSOM properties (the brush cursor's
// position and size), which CSP allows.
//
// Markup contract and keyboard keys: docs/edit-studio.md.

const PAINT_COLOUR = "rgb(255, 0, 122)"; // shown translucent by CSS; only its coverage (alpha) matters
const ALPHA_THRESHOLD = 128; // same rule as the server: alpha >= 128 on the paint layer counts as painted

const ready = new WeakSet();
let lastUsed = null;

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

class MaskPainter {
  constructor(root) {
    this.root = root;
    this.width = parseInt(root.dataset.width, 10);
    this.height = parseInt(root.dataset.height, 10);
    this.canvas = root.querySelector("[data-mask-canvas]");
    this.input = root.querySelector("[data-mask-input]");
    this.status = root.querySelector("[data-mask-status]");
    this.toolbar = root.querySelector("[data-mask-toolbar]");
    this.sizeInput = root.querySelector("[data-brush-size]");
    this.sizeOutput = root.querySelector("[data-brush-size-output]");
    this.cursor = root.querySelector("[data-brush-cursor]");
    this.overlayButton = root.querySelector('[data-action="toggle-overlay"]');
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });

    this.tool = "brush";
    // operations: {type: "stroke", tool, size, points} | {type: "invert"} | {type: "clear"}
    //   | {type: "layer", canvas} (an initial mask loaded from the hidden input)
    this.history = [];
    this.redoStack = [];
    this.current = null; // the stroke being drawn
    this.pointerId = null;
    this.overlayVisible = true;

    this.setup();
  }

  // ------------------------------------------------------------------------------------------ setup
  setup() {
    // The canvas works in the base image's exact pixels; CSS scales it onto the displayed image.
    this.canvas.width = this.width;
    this.canvas.height = this.height;

    const longest = Math.max(this.width, this.height);
    const max = Math.max(8, Math.round(longest / 4));
    this.sizeInput.min = "1";
    this.sizeInput.max = String(max);
    const initial = parseInt(this.sizeInput.value, 10);
    this.setBrushSize(Number.isFinite(initial) && initial > 0 ? initial : Math.round(longest / 25), { announce: false });

    this.toolbar.hidden = false;
    this.root.classList.add("es-painter-ready");

    this.root.addEventListener("click", (event) => this.onClick(event));
    this.sizeInput.addEventListener("input", () => this.setBrushSize(parseInt(this.sizeInput.value, 10)));
    this.canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    this.canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    this.canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    this.canvas.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    this.canvas.addEventListener("pointerleave", () => this.hideCursor());
    this.root.addEventListener("focusin", () => { lastUsed = this; });

    const form = this.root.closest("form");
    if (form) form.addEventListener("reset", () => { this.history = []; this.redoStack = []; this.redraw(); this.sync(); });
    this.updateButtons();
    // A mask already in the hidden input (a "Fix this" comment's box, or what was painted before the
    // server refused the form) is the starting point: load it instead of wiping it.
    const initialMask = this.input.value;
    if (initialMask && initialMask.startsWith("data:image/")) this.loadInitial(initialMask);
    else this.sync();
  }

  // Decode a mask PNG (alpha below the threshold = painted) into the paint layer as the first history
  // operation, so Undo and Clear work on it like on a stroke. Until it has loaded, the hidden input keeps
  // the original value, so submitting early still sends the same mask.
  loadInitial(dataUrl) {
    const details = this.root.closest("details");
    if (details) details.open = true;
    this.root.dataset.maskState = "loading";
    const img = new Image();
    img.onload = () => {
      const scratch = document.createElement("canvas");
      scratch.width = this.width;
      scratch.height = this.height;
      const sctx = scratch.getContext("2d", { willReadFrequently: true });
      sctx.drawImage(img, 0, 0, this.width, this.height);
      const source = sctx.getImageData(0, 0, this.width, this.height);
      const layer = sctx.createImageData(this.width, this.height);
      const [r, g, b] = PAINT_COLOUR.match(/\d+/g).map(Number);
      const src = source.data;
      const out = layer.data;
      for (let i = 0; i < src.length; i += 4) {
        if (src[i + 3] < ALPHA_THRESHOLD) {
          out[i] = r; out[i + 1] = g; out[i + 2] = b; out[i + 3] = 255;
        }
      }
      sctx.putImageData(layer, 0, 0);
      const op = { type: "layer", canvas: scratch };
      this.history.unshift(op);
      this.redraw();
      this.updateButtons();
      this.sync();
      this.announce("Marked area loaded");
    };
    img.onerror = () => {
      // Keep the value: the server validates it and says what is wrong in plain words.
      this.root.dataset.maskState = "error";
    };
    img.src = dataUrl;
  }

  // ------------------------------------------------------------------------------------------ helpers
  announce(message) {
    if (!this.status) return;
    // Clear first so that repeating the same message ("Undone", "Undone") is read again.
    this.status.textContent = "";
    window.requestAnimationFrame(() => { this.status.textContent = message; });
  }

  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.width) / rect.width,
      y: ((event.clientY - rect.top) * this.height) / rect.height,
    };
  }

  setTool(tool) {
    this.tool = tool;
    this.root.querySelectorAll("[data-tool]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    });
    this.root.dataset.tool = tool;
    this.announce(tool === "brush" ? "Brush" : "Eraser");
  }

  setBrushSize(size, { announce = true } = {}) {
    if (!Number.isFinite(size)) return;
    const value = clamp(Math.round(size), parseInt(this.sizeInput.min, 10) || 1, parseInt(this.sizeInput.max, 10));
    this.size = value;
    this.sizeInput.value = String(value);
    if (this.sizeOutput) this.sizeOutput.textContent = `${value} px`;
    if (announce) this.announce(`Brush size ${value}`);
  }

  stepBrushSize(direction) {
    const step = Math.max(1, Math.round(this.size * 0.15));
    this.setBrushSize(this.size + direction * step);
  }

  // ------------------------------------------------------------------------------------------ drawing
  applyStyle(tool, size) {
    const ctx = this.ctx;
    ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = PAINT_COLOUR;
    ctx.fillStyle = PAINT_COLOUR;
    ctx.lineWidth = size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  dot(point, tool, size) {
    this.applyStyle(tool, size);
    this.ctx.beginPath();
    this.ctx.arc(point.x, point.y, size / 2, 0, Math.PI * 2);
    this.ctx.fill();
  }

  segment(from, to, tool, size) {
    this.applyStyle(tool, size);
    this.ctx.beginPath();
    this.ctx.moveTo(from.x, from.y);
    this.ctx.lineTo(to.x, to.y);
    this.ctx.stroke();
  }

  replay(op) {
    const ctx = this.ctx;
    if (op.type === "clear") {
      ctx.clearRect(0, 0, this.width, this.height);
    } else if (op.type === "invert") {
      // XOR with a full opaque rectangle: new alpha = 1 - old alpha, exactly an inversion of coverage.
      ctx.globalCompositeOperation = "xor";
      ctx.fillStyle = PAINT_COLOUR;
      ctx.fillRect(0, 0, this.width, this.height);
    } else if (op.type === "layer") {
      ctx.globalCompositeOperation = "source-over";
      ctx.drawImage(op.canvas, 0, 0);
    } else if (op.type === "stroke") {
      this.dot(op.points[0], op.tool, op.size);
      if (op.points.length > 1) {
        this.applyStyle(op.tool, op.size);
        ctx.beginPath();
        ctx.moveTo(op.points[0].x, op.points[0].y);
        for (const p of op.points.slice(1)) ctx.lineTo(p.x, p.y);
        ctx.stroke();
      }
    }
    ctx.globalCompositeOperation = "source-over";
  }

  redraw() {
    this.ctx.globalCompositeOperation = "source-over";
    this.ctx.clearRect(0, 0, this.width, this.height);
    for (const op of this.history) this.replay(op);
  }

  commit(op, message) {
    this.history.push(op);
    this.redoStack = [];
    this.updateButtons();
    this.sync();
    if (message) this.announce(message);
  }

  // ------------------------------------------------------------------------------------------ pointer
  onPointerDown(event) {
    if (this.pointerId !== null) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    lastUsed = this;
    this.pointerId = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    const point = this.toImage(event);
    this.current = { type: "stroke", tool: this.tool, size: this.size, points: [point] };
    this.dot(point, this.tool, this.size);
    this.moveCursor(event);
  }

  onPointerMove(event) {
    this.moveCursor(event);
    if (event.pointerId !== this.pointerId || !this.current) return;
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      const point = this.toImage(e);
      const last = this.current.points[this.current.points.length - 1];
      if (Math.abs(point.x - last.x) < 0.5 && Math.abs(point.y - last.y) < 0.5) continue;
      this.segment(last, point, this.current.tool, this.current.size);
      this.current.points.push(point);
    }
  }

  onPointerUp(event) {
    if (event.pointerId !== this.pointerId) return;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    this.pointerId = null;
    const stroke = this.current;
    this.current = null;
    if (stroke) this.commit(stroke, null);
  }

  moveCursor(event) {
    if (!this.cursor) return;
    const rect = this.canvas.getBoundingClientRect();
    const scale = rect.width / this.width;
    const diameter = Math.max(4, this.size * scale);
    // CSSOM property writes are allowed under style-src 'self' (no style="" attribute strings).
    this.cursor.style.width = `${diameter}px`;
    this.cursor.style.height = `${diameter}px`;
    this.cursor.style.transform =
      `translate(${event.clientX - rect.left - diameter / 2}px, ${event.clientY - rect.top - diameter / 2}px)`;
    this.cursor.hidden = false;
  }

  hideCursor() {
    if (this.cursor) this.cursor.hidden = true;
  }

  // ------------------------------------------------------------------------------------------ actions
  undo() {
    const op = this.history.pop();
    if (!op) return;
    this.redoStack.push(op);
    this.redraw();
    this.updateButtons();
    this.sync();
    this.announce("Undone");
  }

  redo() {
    const op = this.redoStack.pop();
    if (!op) return;
    this.history.push(op);
    this.replay(op);
    this.updateButtons();
    this.sync();
    this.announce("Redone");
  }

  invert() {
    const op = { type: "invert" };
    this.replay(op);
    this.commit(op, "Mask inverted");
  }

  clear() {
    if (!this.history.length) return;
    const op = { type: "clear" };
    this.replay(op);
    this.commit(op, "Mask cleared");
  }

  toggleOverlay() {
    this.overlayVisible = !this.overlayVisible;
    this.root.classList.toggle("es-overlay-hidden", !this.overlayVisible);
    if (this.overlayButton) this.overlayButton.textContent = this.overlayVisible ? "Hide overlay" : "Show overlay";
    this.announce(this.overlayVisible ? "Overlay shown" : "Overlay hidden");
  }

  onClick(event) {
    const target = event.target instanceof Element ? event.target.closest("button") : null;
    if (!target || !this.root.contains(target)) return;
    lastUsed = this;
    if (target.dataset.tool) {
      this.setTool(target.dataset.tool);
      return;
    }
    const action = target.dataset.action;
    if (action === "undo") this.undo();
    else if (action === "redo") this.redo();
    else if (action === "invert") this.invert();
    else if (action === "clear") this.clear();
    else if (action === "toggle-overlay") this.toggleOverlay();
  }

  updateButtons() {
    const undo = this.root.querySelector('[data-action="undo"]');
    const redo = this.root.querySelector('[data-action="redo"]');
    const clear = this.root.querySelector('[data-action="clear"]');
    if (undo) undo.disabled = this.history.length === 0;
    if (redo) redo.disabled = this.redoStack.length === 0;
    if (clear) clear.disabled = this.history.length === 0;
  }

  // ------------------------------------------------------------------------------------------ export
  // The exported PNG is exactly width x height: alpha 0 where painted (the change goes there), 255
  // elsewhere. Written into the hidden input after every change and again on submit.
  exportMask() {
    const source = this.ctx.getImageData(0, 0, this.width, this.height).data;
    let painted = 0;
    for (let i = 3; i < source.length; i += 4) if (source[i] >= ALPHA_THRESHOLD) painted += 1;
    const total = this.width * this.height;
    if (painted === 0) return { dataUrl: "", painted, total };

    const out = document.createElement("canvas");
    out.width = this.width;
    out.height = this.height;
    const outCtx = out.getContext("2d");
    const image = outCtx.createImageData(this.width, this.height);
    const data = image.data; // starts as transparent black
    for (let i = 3; i < source.length; i += 4) data[i] = source[i] >= ALPHA_THRESHOLD ? 0 : 255;
    outCtx.putImageData(image, 0, 0);
    return { dataUrl: out.toDataURL("image/png"), painted, total };
  }

  sync() {
    const { dataUrl, painted, total } = this.exportMask();
    this.input.value = dataUrl;
    const share = total ? Math.round((painted / total) * 100) : 0;
    this.root.dataset.maskState = painted === 0 ? "empty" : painted === total ? "full" : "partial";
    this.root.dataset.paintedShare = String(share);
    const help = this.root.querySelector("[data-mask-summary]");
    if (help) {
      help.textContent = painted === 0
        ? "Nothing painted yet."
        : painted === total
          ? "Everything is painted: use an instruction edit instead, or erase what should stay."
          : `Painted area: about ${share === 0 ? "under 1" : share}% of the image.`;
    }
  }
}

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

const painters = [];

function activePainter(event) {
  const target = event.target instanceof Element ? event.target : null;
  const inside = target && painters.find((p) => p.root.contains(target));
  if (inside) return inside;
  if (lastUsed && document.contains(lastUsed.root)) return lastUsed;
  const live = painters.filter((p) => document.contains(p.root));
  return live.length === 1 ? live[0] : null;
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || isTextEntry(event.target)) return;
  const painter = activePainter(event);
  if (!painter) return;
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
  else handled = false;
  if (handled) event.preventDefault();
});

// Capture phase on the document: runs before any handler on the form itself (htmx included), so the
// submitted value is always the latest painting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  for (const painter of painters) if (form.contains(painter.root)) painter.sync();
}, true);

// ---------------------------------------------------------------------------------------------- init
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
