// Focal point picker on the variant page: click the image or use the arrow keys on it to move the marker
// (Shift: 10% steps); the marker fills the form's two number inputs (percent), which also work on their
// own without this module. SVG attributes only: the CSP forbids inline styles.

const clamp = (v) => Math.min(100, Math.max(0, v));

function setup(section) {
  if (!section || section.dataset.ready) return;
  section.dataset.ready = "1";
  const svg = section.querySelector("[data-focal-image]");
  const form = section.querySelector("[data-focal-form]");
  if (!svg || !form) return;
  const inputX = form.querySelector("[data-focal-x]");
  const inputY = form.querySelector("[data-focal-y]");
  const status = section.querySelector("[data-focal-position]");
  const [, , width, height] = svg.getAttribute("viewBox").split(/\s+/).map(Number);

  function draw(px, py) {
    const x = (px / 100) * width;
    const y = (py / 100) * height;
    section.querySelectorAll("[data-focal-dot], [data-focal-ring]").forEach((c) => {
      c.setAttribute("cx", x.toFixed(1));
      c.setAttribute("cy", y.toFixed(1));
    });
    const h = section.querySelector("[data-focal-h]");
    const v = section.querySelector("[data-focal-v]");
    h?.setAttribute("y1", y.toFixed(1)); h?.setAttribute("y2", y.toFixed(1));
    v?.setAttribute("x1", x.toFixed(1)); v?.setAttribute("x2", x.toFixed(1));
    if (status) status.textContent = `${Math.round(px)}% across, ${Math.round(py)}% down (not saved yet).`;
  }

  function move(px, py) {
    px = clamp(px); py = clamp(py);
    inputX.value = String(Math.round(px * 10) / 10);
    inputY.value = String(Math.round(py * 10) / 10);
    draw(px, py);
  }

  svg.addEventListener("click", (event) => {
    const rect = svg.getBoundingClientRect();
    // preserveAspectRatio="xMidYMid meet": the picture may be letterboxed inside the element's box.
    const scale = Math.min(rect.width / width, rect.height / height);
    const offsetX = (rect.width - width * scale) / 2;
    const offsetY = (rect.height - height * scale) / 2;
    const px = ((event.clientX - rect.left - offsetX) / (width * scale)) * 100;
    const py = ((event.clientY - rect.top - offsetY) / (height * scale)) * 100;
    move(px, py);
    svg.focus();
  });

  svg.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 10 : 1;
    const px = parseFloat(inputX.value || "50");
    const py = parseFloat(inputY.value || "50");
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key in moves) {
      event.preventDefault();
      move(px + moves[event.key][0], py + moves[event.key][1]);
    } else if (event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("input", () => {
    const px = parseFloat(inputX.value);
    const py = parseFloat(inputY.value);
    if (Number.isFinite(px) && Number.isFinite(py)) draw(clamp(px), clamp(py));
  });
}

function init() { document.querySelectorAll("[data-focal-point]").forEach(setup); }

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
document.addEventListener("htmx:load", init);  // fired on swapped-in content (afterSwap may fire on the detached old element)
