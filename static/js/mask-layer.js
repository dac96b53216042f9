// The mask painter's pixel work, apart from its interaction (static/js/mask-painter.js): drawing the
// history's operations onto the paint layer, turning a mask PNG into a paint layer, and the paint layer
// into the mask PNG the image API takes. All of it works in the base image's exact pixels.
//
// Why these rules: the API's mask is a PNG at exactly the base image's size where alpha 0 marks the area
// to change; the server applies the same threshold (studio/lib/imaging/masks.py: alpha below 128 counts
// as painted), so what the marketer sees is what is sent.

export const PAINT_COLOUR = "rgb(255, 0, 122)"; // shown translucent by CSS; only its coverage (alpha) matters
export const ALPHA_THRESHOLD = 128; // alpha >= 128 on the paint layer counts as painted

export function applyStyle(ctx, tool, size) {
  ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
  ctx.strokeStyle = PAINT_COLOUR;
  ctx.fillStyle = PAINT_COLOUR;
  ctx.lineWidth = size;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

export function dot(ctx, point, tool, size) {
  applyStyle(ctx, tool, size);
  ctx.beginPath();
  ctx.arc(point.x, point.y, size / 2, 0, Math.PI * 2);
  ctx.fill();
}

export function segment(ctx, from, to, tool, size) {
  applyStyle(ctx, tool, size);
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

// operations: {type: "stroke", tool, size, points} | {type: "invert"} | {type: "clear"}
//   | {type: "layer", canvas} (an initial mask loaded from the hidden input)
export function replay(ctx, op, width, height) {
  if (op.type === "clear") {
    ctx.clearRect(0, 0, width, height);
  } else if (op.type === "invert") {
    // XOR with a full opaque rectangle: new alpha = 1 - old alpha, exactly an inversion of coverage.
    ctx.globalCompositeOperation = "xor";
    ctx.fillStyle = PAINT_COLOUR;
    ctx.fillRect(0, 0, width, height);
  } else if (op.type === "layer") {
    ctx.globalCompositeOperation = "source-over";
    ctx.drawImage(op.canvas, 0, 0);
  } else if (op.type === "stroke") {
    dot(ctx, op.points[0], op.tool, op.size);
    if (op.points.length > 1) {
      applyStyle(ctx, op.tool, op.size);
      ctx.beginPath();
      ctx.moveTo(op.points[0].x, op.points[0].y);
      for (const p of op.points.slice(1)) ctx.lineTo(p.x, p.y);
      ctx.stroke();
    }
  }
  ctx.globalCompositeOperation = "source-over";
}

// A decoded mask image (alpha below the threshold = painted) as a paint layer canvas of width x height.
export function layerFromMask(img, width, height) {
  const scratch = document.createElement("canvas");
  scratch.width = width;
  scratch.height = height;
  const sctx = scratch.getContext("2d", { willReadFrequently: true });
  sctx.drawImage(img, 0, 0, width, height);
  const src = sctx.getImageData(0, 0, width, height).data;
  const layer = sctx.createImageData(width, height);
  const out = layer.data;
  const [r, g, b] = PAINT_COLOUR.match(/\d+/g).map(Number);
  for (let i = 0; i < src.length; i += 4) {
    if (src[i + 3] < ALPHA_THRESHOLD) {
      out[i] = r; out[i + 1] = g; out[i + 2] = b; out[i + 3] = 255;
    }
  }
  sctx.putImageData(layer, 0, 0);
  return scratch;
}

// The exported PNG is exactly width x height: alpha 0 where painted (the change goes there), 255
// elsewhere; "" when nothing is painted.
export function encodeMask(ctx, width, height) {
  const source = ctx.getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 3; i < source.length; i += 4) if (source[i] >= ALPHA_THRESHOLD) painted += 1;
  const total = width * height;
  if (painted === 0) return { dataUrl: "", painted, total };

  const out = document.createElement("canvas");
  out.width = width;
  out.height = height;
  const outCtx = out.getContext("2d");
  const image = outCtx.createImageData(width, height);
  const data = image.data; // starts as transparent black
  for (let i = 3; i < source.length; i += 4) data[i] = source[i] >= ALPHA_THRESHOLD ? 0 : 255;
  outCtx.putImageData(image, 0, 0);
  return { dataUrl: out.toDataURL("image/png"), painted, total };
}
