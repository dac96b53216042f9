// Compare two versions of an image: side by side, slider overlay, or pixel difference, with one zoom.
//
// Why it exists: iterating on an image ("same shot, warmer sky") means judging small changes. Side by
// side shows the whole; the slider shows an edge moving across the same pixels; the difference view
// shows exactly which pixels changed (|a - b| per channel, amplified), which catches an edit that
// touched more than it should. Zoom and pan are shared by every pane so both images stay aligned.
//
// Progressive enhancement of templates/studio/partials/compare.html: without JavaScript it is a plain
// side-by-side view. Vanilla ES module, no eval, no inline styles (CSP style-src 'self'): the slider
// position and zoom are CSSOM property writes, which CSP allows. Contract: docs/edit-studio.md.

const ZOOM_STEP = 1.25;
const ZOOM_MIN = 1;
const ZOOM_MAX = 16;
const PAN_STEP = 40; // CSS px per arrow key press
const DIFF_AMPLIFY = 4;
const DIFF_NOTICE = 8; // per-channel difference below this does not count as "changed" in the summary
const DIFF_MAX_PIXELS = 16_777_216; // compute the difference on at most 4096x4096 pixels

const ready = new WeakSet();

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    const url = new URL(src, window.location.href);
    // Images on another origin (S3, a CDN) need CORS to be read back from a canvas.
    if (url.origin !== window.location.origin) img.crossOrigin = "anonymous";
    img.decoding = "async";
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = url.href;
  });
}

class Compare {
  constructor(root) {
    this.root = root;
    this.controls = root.querySelector("[data-compare-controls]");
    this.status = root.querySelector("[data-compare-status]");
    this.slider = root.querySelector("[data-slider]");
    this.zoomLevel = root.querySelector("[data-zoom-level]");
    this.diffCanvas = root.querySelector("[data-diff]");
    this.diffNote = root.querySelector("[data-diff-note]");
    this.leftImg = root.querySelector("[data-compare-left]");
    this.rightImg = root.querySelector("[data-compare-right]");
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.drag = null;
    this.diffDone = null;
    this.setup();
  }

  setup() {
    if (this.controls) this.controls.hidden = false;
    this.root.classList.add("es-compare-ready");

    this.root.querySelectorAll("[data-compare-mode]").forEach((radio) => {
      radio.addEventListener("change", () => { if (radio.checked) this.setMode(radio.value); });
    });
    this.root.querySelectorAll("[data-zoom]").forEach((button) => {
      button.addEventListener("click", () => this.zoomAction(button.dataset.zoom));
    });
    if (this.slider) {
      this.slider.addEventListener("input", () => this.setSplit(parseFloat(this.slider.value)));
      this.setSplit(parseFloat(this.slider.value));
    }
    this.root.querySelectorAll("[data-viewport]").forEach((viewport) => this.bindViewport(viewport));
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    this.applyTransform();
  }

  announce(message) {
    if (!this.status) return;
    this.status.textContent = "";
    window.requestAnimationFrame(() => { this.status.textContent = message; });
  }

  // ------------------------------------------------------------------------------------------ modes
  setMode(mode) {
    this.root.dataset.mode = mode;
    this.root.querySelectorAll("[data-compare-panel]").forEach((panel) => {
      panel.hidden = panel.dataset.comparePanel !== mode;
    });
    const radio = this.root.querySelector(`[data-compare-mode][value="${mode}"]`);
    if (radio && !radio.checked) radio.checked = true;
    this.applyTransform();
    const names = { side: "Side by side", slider: "Slider", diff: "Difference" };
    this.announce(`${names[mode] || mode} view`);
    if (mode === "diff") this.computeDiff();
  }

  setSplit(percent) {
    const value = clamp(Number.isFinite(percent) ? percent : 50, 0, 100);
    // One custom property drives both the clip of the top image and the divider line (app.css, edit studio section).
    this.root.style.setProperty("--es-split", `${value}%`);
    const clip = this.root.querySelector("[data-slider-clip]");
    if (clip) clip.style.clipPath = `inset(0 ${100 - value}% 0 0)`;
    if (this.slider) {
      const label = this.slider.getAttribute("aria-valuetext") || "";
      const name = label.replace(/^\d+% /, "");
      this.slider.setAttribute("aria-valuetext", `${Math.round(value)}% ${name}`.trim());
    }
  }

  // ------------------------------------------------------------------------------------------ zoom, pan
  visibleViewport() {
    const viewports = Array.from(this.root.querySelectorAll("[data-viewport]"));
    return viewports.find((v) => v.offsetParent !== null) || viewports[0];
  }

  clampPan() {
    const viewport = this.visibleViewport();
    if (!viewport) return;
    const w = viewport.clientWidth;
    const h = viewport.clientHeight;
    this.tx = clamp(this.tx, w * (1 - this.scale), 0);
    this.ty = clamp(this.ty, h * (1 - this.scale), 0);
  }

  applyTransform() {
    this.clampPan();
    const transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.root.querySelectorAll("[data-zoom-target]").forEach((el) => { el.style.transform = transform; });
    this.root.classList.toggle("es-zoomed", this.scale > 1);
    if (this.zoomLevel) this.zoomLevel.textContent = `${Math.round(this.scale * 100)}%`;
    const zoomOut = this.root.querySelector('[data-zoom="out"]');
    const zoomIn = this.root.querySelector('[data-zoom="in"]');
    if (zoomOut) zoomOut.disabled = this.scale <= ZOOM_MIN;
    if (zoomIn) zoomIn.disabled = this.scale >= ZOOM_MAX;
  }

  zoomTo(scale) {
    const next = clamp(scale, ZOOM_MIN, ZOOM_MAX);
    const viewport = this.visibleViewport();
    // Keep the centre of the view where it is.
    const cx = viewport ? viewport.clientWidth / 2 : 0;
    const cy = viewport ? viewport.clientHeight / 2 : 0;
    this.tx = cx - ((cx - this.tx) * next) / this.scale;
    this.ty = cy - ((cy - this.ty) * next) / this.scale;
    this.scale = next;
    this.applyTransform();
    this.announce(`Zoom ${Math.round(this.scale * 100)}%`);
  }

  zoomAction(action) {
    if (action === "in") this.zoomTo(this.scale * ZOOM_STEP);
    else if (action === "out") this.zoomTo(this.scale / ZOOM_STEP);
    else if (action === "reset") {
      this.tx = 0;
      this.ty = 0;
      this.zoomTo(1);
    }
  }

  bindViewport(viewport) {
    viewport.addEventListener("pointerdown", (event) => {
      if (this.scale <= 1 || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      viewport.setPointerCapture(event.pointerId);
      this.drag = { id: event.pointerId, x: event.clientX, y: event.clientY };
      this.root.classList.add("es-panning");
    });
    viewport.addEventListener("pointermove", (event) => {
      if (!this.drag || this.drag.id !== event.pointerId) return;
      this.tx += event.clientX - this.drag.x;
      this.ty += event.clientY - this.drag.y;
      this.drag.x = event.clientX;
      this.drag.y = event.clientY;
      this.applyTransform();
    });
    const end = (event) => {
      if (!this.drag || this.drag.id !== event.pointerId) return;
      this.drag = null;
      this.root.classList.remove("es-panning");
    };
    viewport.addEventListener("pointerup", end);
    viewport.addEventListener("pointercancel", end);
    viewport.addEventListener("wheel", (event) => {
      if (!event.ctrlKey) return; // plain wheel scrolls the page; Ctrl+wheel (and pinch) zooms
      event.preventDefault();
      this.zoomTo(this.scale * (event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP));
    }, { passive: false });
  }

  onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.matches("input[type=range], input[type=text], textarea, select")) return;
    if (event.key === "+" || event.key === "=") this.zoomAction("in");
    else if (event.key === "-" || event.key === "_") this.zoomAction("out");
    else if (event.key === "0") this.zoomAction("reset");
    else if (target && target.hasAttribute("data-viewport") && this.scale > 1 && event.key.startsWith("Arrow")) {
      const dx = { ArrowLeft: PAN_STEP, ArrowRight: -PAN_STEP }[event.key] || 0;
      const dy = { ArrowUp: PAN_STEP, ArrowDown: -PAN_STEP }[event.key] || 0;
      this.tx += dx;
      this.ty += dy;
      this.applyTransform();
    } else return;
    event.preventDefault();
  }

  // ------------------------------------------------------------------------------------------ difference
  computeDiff() {
    if (!this.diffCanvas || !this.leftImg || !this.rightImg) return Promise.resolve();
    if (!this.diffDone) this.diffDone = this.drawDiff().catch((error) => this.diffFailed(error));
    return this.diffDone;
  }

  async drawDiff() {
    this.root.setAttribute("aria-busy", "true");
    const [a, b] = await Promise.all([loadImage(this.leftImg.currentSrc || this.leftImg.src),
      loadImage(this.rightImg.currentSrc || this.rightImg.src)]);
    let width = a.naturalWidth;
    let height = a.naturalHeight;
    const shrink = Math.min(1, Math.sqrt(DIFF_MAX_PIXELS / (width * height)));
    width = Math.max(1, Math.round(width * shrink));
    height = Math.max(1, Math.round(height * shrink));

    const pixels = (img) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0, width, height); // the second image is scaled to the first's size
      return ctx.getImageData(0, 0, width, height).data;
    };
    const pa = pixels(a);
    const pb = pixels(b);

    const canvas = this.diffCanvas;
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    const out = ctx.createImageData(width, height);
    const data = out.data;
    let changed = 0;
    for (let i = 0; i < data.length; i += 4) {
      const dr = Math.abs(pa[i] - pb[i]);
      const dg = Math.abs(pa[i + 1] - pb[i + 1]);
      const db = Math.abs(pa[i + 2] - pb[i + 2]);
      const da = Math.abs(pa[i + 3] - pb[i + 3]);
      data[i] = Math.min(255, (dr + da) * DIFF_AMPLIFY);
      data[i + 1] = Math.min(255, (dg + da) * DIFF_AMPLIFY);
      data[i + 2] = Math.min(255, (db + da) * DIFF_AMPLIFY);
      data[i + 3] = 255;
      if (dr >= DIFF_NOTICE || dg >= DIFF_NOTICE || db >= DIFF_NOTICE || da >= DIFF_NOTICE) changed += 1;
    }
    ctx.putImageData(out, 0, 0);

    const share = (changed / (width * height)) * 100;
    const shareText = changed === 0 ? "no pixels differ" : `${share < 1 ? "under 1" : Math.round(share)}% of pixels differ`;
    const notes = [`Bright areas changed; black areas are identical (differences amplified ${DIFF_AMPLIFY} times). ${shareText[0].toUpperCase()}${shareText.slice(1)}.`];
    if (a.naturalWidth !== b.naturalWidth || a.naturalHeight !== b.naturalHeight) {
      notes.push(`The two versions have different sizes (${a.naturalWidth}x${a.naturalHeight} and ` +
        `${b.naturalWidth}x${b.naturalHeight}); the second was scaled to the first for this comparison.`);
      this.root.dataset.sizesDiffer = "true";
    }
    if (shrink < 1) notes.push(`Computed at ${width}x${height} pixels to keep the page responsive.`);
    if (this.diffNote) this.diffNote.textContent = notes.join(" ");
    canvas.dataset.diffReady = "true";
    canvas.dataset.changedShare = String(Math.round(share * 100) / 100);
    this.root.removeAttribute("aria-busy");
    this.announce(`Difference ready: ${shareText}.`);
  }

  diffFailed(error) {
    this.root.removeAttribute("aria-busy");
    const message = error && error.name === "SecurityError"
      ? "The difference view is not available for images stored on another site."
      : "The difference view could not be drawn: one of the images did not load.";
    if (this.diffNote) this.diffNote.textContent = message;
    this.diffCanvas.dataset.diffReady = "error";
    this.diffDone = null;
    this.announce(message);
  }
}

export function initCompares(scope = document) {
  const found = [];
  const roots = scope.querySelectorAll ? Array.from(scope.querySelectorAll("[data-compare]")) : [];
  if (scope instanceof Element && scope.matches("[data-compare]")) roots.unshift(scope);
  for (const root of roots) {
    if (ready.has(root)) continue;
    ready.add(root);
    found.push(new Compare(root));
  }
  return found;
}

export { Compare };

initCompares();
document.addEventListener("htmx:load", (event) => initCompares(event.target));
