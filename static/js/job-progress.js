// Progress of generations for screen-reader and keyboard users, on the draft page and the variant page
// (issue 14: after an action, stay with the work).
//
// Draft page:
// - arriving at "#job-N" (a re-run) moves focus to that job's card;
// - each poll that changes a job's status or its images is announced in one polite live region
//   (#job-announcer); the cards themselves are swapped every poll and must not be live (they would
//   repeat), and an image that has just landed fades in, so thumbnails visibly arrive one by one.
// Variant page, after an edit or a localisation (templates/studio/variant.html#progress):
// - the progress card gets focus on arrival; each new result is announced (#progress-announcer);
// - a single edit, once its new version is stored, moves the page to that version with focus on its
//   heading, but only while the person is still waiting (focus on the card or nowhere): someone who has
//   gone on typing or painting is told instead and keeps their place;
// - arriving at "#variant-title" puts focus on the heading, so the result is where the keyboard is.

const seen = new Map();

function announcer() {
  return document.getElementById("job-announcer") || document.getElementById("progress-announcer");
}

function say(text) {
  const region = announcer();
  if (!region || !text) return;
  // Clear first so the same words twice in a row are read twice.
  region.textContent = "";
  window.requestAnimationFrame(() => { region.textContent = text; });
}

function focusTarget(element) {
  if (!element) return;
  if (!element.hasAttribute("tabindex") && !element.matches("a[href], button, input, select, textarea")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus({ preventScroll: false });
}

function isWaiting(card) {
  const active = document.activeElement;
  return !active || active === document.body || (card && card.contains(active));
}

// ------------------------------------------------------------------------------------------ job cards
function thumbs(card) {
  return [...card.querySelectorAll(".thumb:not(.thumb-placeholder)")];
}

function jobSummary(card) {
  const title = card.querySelector("h3")?.textContent.trim() || "Generation";
  const status = card.querySelector(".card-header .badge")?.textContent.trim() || "";
  const images = thumbs(card);
  const ready = images.filter((li) => li.querySelector(".badge")?.textContent.trim() !== "Safety check pending");
  const ids = images.map((li) => li.querySelector("a")?.getAttribute("href") || "");
  let text = `${title}: ${status}`;
  if (images.length) text += `, ${images.length} image${images.length === 1 ? "" : "s"} so far`;
  if (images.length && ready.length !== images.length) text += ` (${ready.length} through the safety check)`;
  return { key: `${status}|${ids.join(",")}|${ready.length}`, ids, text: `${text}.` };
}

function rememberJob(card) {
  if (card.id) seen.set(card.id, jobSummary(card));
}

function onJobSwap(card) {
  const before = seen.get(card.id);
  const now = jobSummary(card);
  if (before) {
    // Mark only the images that were not there before, so each one visibly arrives.
    thumbs(card).forEach((li, index) => {
      if (!before.ids.includes(now.ids[index])) li.classList.add("is-new");
    });
  }
  if (!before || before.key !== now.key) say(now.text);
  seen.set(card.id, now);
}

// ------------------------------------------------------------------------------------------ variant page
function progressState(card) {
  const results = [...card.querySelectorAll("[data-result]")].map((li) => ({
    id: li.dataset.result,
    label: li.querySelector("[data-result-link]")?.textContent.trim() || "",
    status: li.querySelector(".badge")?.textContent.trim() || "",
  }));
  const failed = [...card.querySelectorAll("[data-job-failed]")].map((p) => p.textContent.trim());
  return { results, failed };
}

let progressSeen = null;

function onProgressSwap(card, { wasWaiting }) {
  const now = progressState(card);
  const before = progressSeen || { results: [], failed: [] };
  progressSeen = now;
  const fresh = now.results.filter((r) => !before.results.some((b) => b.id === r.id));
  card.querySelectorAll("[data-result]").forEach((li) => {
    if (fresh.some((r) => r.id === li.dataset.result)) li.classList.add("is-new");
  });
  const landUrl = card.dataset.landUrl;
  if (landUrl) {
    if (wasWaiting) {
      say(`${card.dataset.landLabel || "The new version"} is ready: opening it.`);
      // replace, not assign: Back from the new version returns to the page the edit started from, not to
      // this progress view (which would land again at once).
      window.location.replace(landUrl);
      return;
    }
    say(`${card.dataset.landLabel || "The new version"} is ready: open it from “Your edit” at the top of the page.`);
    return;
  }
  const words = fresh.map((r) => `${r.label.replace(/^Open /, "")} landed`);
  const newFailures = now.failed.slice(before.failed.length);
  words.push(...newFailures);
  const done = !card.hasAttribute("hx-get");
  if (done && (fresh.length || newFailures.length)) words.push("All done.");
  if (words.length) say(words.join(". "));
  if (done && wasWaiting) focusTarget(card.querySelector("[data-result-link]") || card);
}

// ------------------------------------------------------------------------------------------ wiring
document.querySelectorAll("article.job-card").forEach(rememberJob);
const initialProgress = document.querySelector("[data-edit-progress]");
if (initialProgress) progressSeen = progressState(initialProgress);

// The progress card is swapped outerHTML: remember, before the swap, whether the person was waiting on it.
let progressSwap = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail && event.detail.target;
  if (target instanceof Element && target.matches("[data-edit-progress]")) progressSwap = { wasWaiting: isWaiting(target) };
});

document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail && event.detail.elt;
  if (target instanceof Element) {
    for (const node of [target, ...target.querySelectorAll("article.job-card")]) {
      if (node.isConnected && node.matches("article.job-card")) onJobSwap(node);
    }
  }
  const progress = document.querySelector("[data-edit-progress]");
  if (progressSwap && progress) {
    const { wasWaiting } = progressSwap;
    progressSwap = null;
    if (wasWaiting && document.activeElement === document.body) focusTarget(progress); // the swap dropped it
    onProgressSwap(progress, { wasWaiting });
  }
});

const hash = window.location.hash.slice(1);
if (hash && /^job-\d+$/.test(hash)) focusTarget(document.getElementById(hash));
else if (hash === "edit-progress" && initialProgress) {
  focusTarget(initialProgress);
  // A job that finished before the page loaded (a fast worker) lands right away.
  if (initialProgress.dataset.landUrl) onProgressSwap(initialProgress, { wasWaiting: true });
} else if (hash === "variant-title") {
  focusTarget(document.getElementById("variant-title"));
}
