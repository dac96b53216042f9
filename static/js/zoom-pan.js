// Zoom and pan for one viewport: a clipping box whose child (the "layer") is scaled and moved with a CSS
// transform. Used by the mask painter (static/js/mask-painter.js) so a marketer can paint small details
// of a large image. compare.js keeps its own copy because it drives several panes from one state.
//
// Why a transform and not a bigger canvas: the paint layer stays at the image's exact pixel size whatever
// the zoom, and getBoundingClientRect() of a transformed element already includes the transform, so the
// painter maps pointer positions to image pixels with the same arithmetic at every zoom level.
// CSSOM property writes (element.style.transform) are allowed under the CSP (style-src 'self').

export const ZOOM_STEP = 1.25;
export const ZOOM_MIN = 1;
export const ZOOM_MAX = 8;
export const PAN_STEP = 40; // CSS px per arrow key press

function clamp(value, min, max) {
  return Math.min(max, Math.max(min, value));
}

export class ZoomPan {
  // onChange(scale) runs after every change, so the owner can update its buttons and announce.
  constructor(viewport, layer, { onChange = () => {} } = {}) {
    this.viewport = viewport;
    this.layer = layer;
    this.onChange = onChange;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.drag = null;
    this.layer.style.transformOrigin = "0 0";
    this.apply();
  }

  get zoomed() {
    return this.scale > ZOOM_MIN;
  }

  // The layer never leaves a gap inside the viewport: at scale s it may move by (s - 1) x its size.
  clampPan() {
    const w = this.viewport.clientWidth;
    const h = this.viewport.clientHeight;
    this.tx = clamp(this.tx, w * (1 - this.scale), 0);
    this.ty = clamp(this.ty, h * (1 - this.scale), 0);
  }

  apply() {
    this.clampPan();
    this.layer.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.viewport.classList.toggle("es-zoomed", this.zoomed);
    this.onChange(this.scale);
  }

  // Zoom keeping the point (x, y), in viewport CSS px, where it is; the centre by default.
  zoomTo(scale, x = this.viewport.clientWidth / 2, y = this.viewport.clientHeight / 2) {
    const next = clamp(scale, ZOOM_MIN, ZOOM_MAX);
    this.tx = x - ((x - this.tx) * next) / this.scale;
    this.ty = y - ((y - this.ty) * next) / this.scale;
    this.scale = next;
    this.apply();
  }

  zoomIn() {
    this.zoomTo(this.scale * ZOOM_STEP);
  }

  zoomOut() {
    this.zoomTo(this.scale / ZOOM_STEP);
  }

  reset() {
    this.tx = 0;
    this.ty = 0;
    this.zoomTo(1);
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.apply();
  }

  // Arrow keys move the view (the image moves the other way, as when scrolling); false if not an arrow.
  panByKey(key, step = PAN_STEP) {
    const dx = { ArrowLeft: step, ArrowRight: -step }[key] || 0;
    const dy = { ArrowUp: step, ArrowDown: -step }[key] || 0;
    if (!dx && !dy) return false;
    this.panBy(dx, dy);
    return true;
  }

  startDrag(event) {
    this.drag = { id: event.pointerId, x: event.clientX, y: event.clientY };
    this.viewport.classList.add("es-panning");
  }

  moveDrag(event) {
    if (!this.drag || this.drag.id !== event.pointerId) return false;
    this.panBy(event.clientX - this.drag.x, event.clientY - this.drag.y);
    this.drag.x = event.clientX;
    this.drag.y = event.clientY;
    return true;
  }

  endDrag(event) {
    if (!this.drag || (event && this.drag.id !== event.pointerId)) return false;
    this.drag = null;
    this.viewport.classList.remove("es-panning");
    return true;
  }

  // Ctrl+wheel (and a trackpad pinch, which browsers report as Ctrl+wheel) zooms at the pointer; a plain
  // wheel keeps scrolling the page.
  onWheel(event) {
    if (!event.ctrlKey) return;
    event.preventDefault();
    const rect = this.viewport.getBoundingClientRect();
    const factor = event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP;
    this.zoomTo(this.scale * factor, event.clientX - rect.left, event.clientY - rect.top);
  }
}
