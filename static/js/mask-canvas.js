// The mask painter's interaction (one instance per [data-mask-painter]): tools, strokes, history, the
// zoomed view and the hidden input it keeps in sync. Started, and given its keyboard shortcuts, by
// static/js/mask-painter.js; the pixel work is in static/js/mask-layer.js. Why it exists and the
// constraints it keeps: the header of mask-painter.js.

import { encodeMask, layerFromMask, replay, dot, segment } from "./mask-layer.js";
import { ZoomPan } from "./zoom-pan.js";

// The painter a key press goes to when focus is outside every painter: the one used last.
export const registry = { painters: [], lastUsed: null };

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

export class MaskPainter {
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
    this.viewport = root.querySelector("[data-mask-viewport]");
    this.layer = root.querySelector("[data-mask-layer]");
    this.zoomLevel = root.querySelector("[data-zoom-level]");
    this.paintSwitch = root.querySelector('[data-action="toggle-paint"]');
    this.toggleable = root.hasAttribute("data-mask-toggle");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });

    this.tool = "brush";
    // operations: {type: "stroke", tool, size, points} | {type: "invert"} | {type: "clear"}
    //   | {type: "layer", canvas} (an initial mask loaded from the hidden input)
    this.history = [];
    this.redoStack = [];
    this.current = null; // the stroke being drawn
    this.pointerId = null;
    this.overlayVisible = true;
    this.panning = null; // a pointer that pans (Move tool, Space held, middle button) instead of painting
    this.spaceHeld = false;
    this.open = !this.toggleable;

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

    this.root.classList.add("es-painter-ready");
    if (this.viewport && this.layer) {
      this.zoom = new ZoomPan(this.viewport, this.layer, { onChange: (scale) => this.onZoom(scale) });
      this.viewport.addEventListener("wheel", (event) => this.zoom.onWheel(event), { passive: false });
      this.viewport.addEventListener("keydown", (event) => this.onViewportKey(event));
      this.viewport.addEventListener("keyup", (event) => { if (event.key === " ") this.setSpace(false); });
      this.viewport.addEventListener("blur", () => this.setSpace(false));
      // The fitted size changes with the window: keep the pan inside the image.
      window.addEventListener("resize", () => this.zoom.apply());
    }
    if (this.paintSwitch) this.paintSwitch.hidden = false;
    this.setOpen(this.open, { focus: false, announce: false });

    this.root.addEventListener("click", (event) => this.onClick(event));
    this.sizeInput.addEventListener("input", () => this.setBrushSize(parseInt(this.sizeInput.value, 10)));
    this.canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    this.canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    this.canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    this.canvas.addEventListener("pointercancel", (event) => this.onPointerUp(event));
    this.canvas.addEventListener("pointerleave", () => this.hideCursor());
    this.root.addEventListener("focusin", () => { registry.lastUsed = this; });
    // Buttons elsewhere on the page (the edit form's "Paint on the image") open this painter.
    if (this.root.id) {
      document.querySelectorAll(`[data-mask-open="${this.root.id}"]`).forEach((button) => {
        button.hidden = false;
        button.addEventListener("click", () => this.setOpen(true));
      });
    }

    // The hidden input may sit outside the form (form="..."): the painter is on the large image while
    // the edit form is in the sidebar.
    const form = this.input.form;
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
    if (this.toggleable) this.setOpen(true, { focus: false, announce: false });
    this.root.dataset.maskState = "loading";
    const img = new Image();
    img.onload = () => {
      const op = { type: "layer", canvas: layerFromMask(img, this.width, this.height) };
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

  // Open: the toolbar and the paintable image show and the plain view of the image hides; closed, the
  // reverse. The mask is kept either way (closing only hides it).
  setOpen(open, { focus = true, announce = true } = {}) {
    this.open = open;
    this.toolbar.hidden = !open;
    if (this.viewport) this.viewport.hidden = !open;
    this.root.classList.toggle("es-painter-open", open);
    if (this.paintSwitch) {
      this.paintSwitch.setAttribute("aria-pressed", String(open));
      this.paintSwitch.textContent = open ? "Done painting" : "Paint the area to change";
    }
    if (this.root.id) {
      document.querySelectorAll(`[data-mask-view="${this.root.id}"]`).forEach((el) => { el.hidden = open; });
    }
    if (open && this.zoom) this.zoom.apply();
    if (open && focus && this.viewport) {
      this.viewport.focus({ preventScroll: true });
      this.viewport.scrollIntoView({ block: "nearest" });
    }
    if (announce) this.announce(open ? "Painting on the image" : "Painting closed; the marked area is kept");
  }

  onZoom(scale) {
    const percent = Math.round(scale * 100);
    if (this.zoomLevel) this.zoomLevel.textContent = `${percent}%`;
    const zoomOut = this.root.querySelector('[data-action="zoom-out"]');
    const zoomIn = this.root.querySelector('[data-action="zoom-in"]');
    const fit = this.root.querySelector('[data-action="zoom-reset"]');
    if (zoomOut) zoomOut.disabled = scale <= 1;
    if (zoomIn) zoomIn.disabled = scale >= 8;
    if (fit) fit.disabled = scale <= 1;
    this.root.dataset.zoom = String(percent);
  }

  zoomAction(action) {
    if (!this.zoom) return;
    if (action === "zoom-in") this.zoom.zoomIn();
    else if (action === "zoom-out") this.zoom.zoomOut();
    else this.zoom.reset();
    this.announce(`Zoom ${Math.round(this.zoom.scale * 100)}%`);
  }

  // Arrow keys pan while zoomed (at 100% they scroll the page as usual); Space held makes a drag pan.
  onViewportKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === " ") {
      event.preventDefault(); // no page scroll while Space is the pan modifier
      this.setSpace(true);
      return;
    }
    if (!this.zoom || !this.zoom.zoomed) return;
    const step = event.shiftKey ? 160 : 40;
    if (this.zoom.panByKey(event.key, step)) event.preventDefault();
  }

  setSpace(held) {
    this.spaceHeld = held;
    this.root.classList.toggle("es-pan-ready", held || this.tool === "move");
  }

  setTool(tool) {
    this.tool = tool;
    this.root.querySelectorAll("[data-tool]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    });
    this.root.dataset.tool = tool;
    this.root.classList.toggle("es-pan-ready", tool === "move" || this.spaceHeld);
    if (tool === "move") this.hideCursor();
    this.announce({ brush: "Brush", eraser: "Eraser", move: "Move: drag to pan the zoomed image" }[tool]);
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
  replay(op) {
    replay(this.ctx, op, this.width, this.height);
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
    if (this.pointerId !== null || this.panning !== null) return;
    const middle = event.pointerType === "mouse" && event.button === 1;
    if (event.pointerType === "mouse" && event.button !== 0 && !middle) return;
    event.preventDefault();
    registry.lastUsed = this;
    if (this.viewport && document.activeElement !== this.viewport) this.viewport.focus({ preventScroll: true });
    if (this.zoom && (middle || this.tool === "move" || this.spaceHeld)) {
      this.panning = event.pointerId;
      this.canvas.setPointerCapture(event.pointerId);
      this.zoom.startDrag(event);
      return;
    }
    this.pointerId = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    const point = this.toImage(event);
    this.current = { type: "stroke", tool: this.tool, size: this.size, points: [point] };
    dot(this.ctx, point, this.tool, this.size);
    this.moveCursor(event);
  }

  onPointerMove(event) {
    if (this.panning === event.pointerId) {
      this.zoom.moveDrag(event);
      return;
    }
    this.moveCursor(event);
    if (event.pointerId !== this.pointerId || !this.current) return;
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      const point = this.toImage(e);
      const last = this.current.points[this.current.points.length - 1];
      if (Math.abs(point.x - last.x) < 0.5 && Math.abs(point.y - last.y) < 0.5) continue;
      segment(this.ctx, last, point, this.current.tool, this.current.size);
      this.current.points.push(point);
    }
  }

  onPointerUp(event) {
    if (this.panning === event.pointerId) {
      this.panning = null;
      this.zoom.endDrag(event);
      if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
      return;
    }
    if (event.pointerId !== this.pointerId) return;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    this.pointerId = null;
    const stroke = this.current;
    this.current = null;
    if (stroke) this.commit(stroke, null);
  }

  moveCursor(event) {
    if (!this.cursor || this.tool === "move" || this.spaceHeld) return;
    // The canvas's rectangle includes the zoom, so the ring shows the brush's real size on screen; the
    // ring itself lives in the untransformed viewport and is placed relative to it.
    const rect = this.canvas.getBoundingClientRect();
    const frame = (this.viewport || this.canvas).getBoundingClientRect();
    const scale = rect.width / this.width;
    const diameter = Math.max(4, this.size * scale);
    // CSSOM property writes are allowed under style-src 'self' (no style="" attribute strings).
    this.cursor.style.width = `${diameter}px`;
    this.cursor.style.height = `${diameter}px`;
    this.cursor.style.transform =
      `translate(${event.clientX - frame.left - diameter / 2}px, ${event.clientY - frame.top - diameter / 2}px)`;
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
    registry.lastUsed = this;
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
    else if (action === "toggle-paint") this.setOpen(!this.open);
    else if (action && action.startsWith("zoom-")) this.zoomAction(action);
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
    return encodeMask(this.ctx, this.width, this.height);
  }

  sync() {
    const { dataUrl, painted, total } = this.exportMask();
    this.input.value = dataUrl;
    const share = total ? Math.round((painted / total) * 100) : 0;
    this.root.dataset.maskState = painted === 0 ? "empty" : painted === total ? "full" : "partial";
    this.root.dataset.paintedShare = String(share);
    const text = painted === 0
      ? "Nothing painted yet."
      : painted === total
        ? "Everything is painted: use an instruction edit instead, or erase what should stay."
        : `Painted area: about ${share === 0 ? "under 1" : share}% of the image.`;
    const outside = this.root.id ? document.querySelectorAll(`[data-mask-summary-for="${this.root.id}"]`) : [];
    for (const el of [...this.root.querySelectorAll("[data-mask-summary]"), ...outside]) el.textContent = text;
  }
}

