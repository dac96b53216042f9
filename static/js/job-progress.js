// The draft page's generations, for screen-reader users and keyboard users (issue 14):
// - arriving at "#job-N" (after an edit or a localisation) moves focus to that job's card;
// - each poll that changes a job's status or its number of images is announced in one polite live
//   region (the cards themselves are swapped every poll and must not be live: they would repeat).

const announcer = document.getElementById("job-announcer");
const seen = new Map();

function summary(card) {
  const title = card.querySelector("h3")?.textContent.trim() || "Generation";
  const status = card.querySelector(".card-header .badge")?.textContent.trim() || "";
  const ready = card.querySelectorAll(".thumb:not(.thumb-placeholder)").length;
  return { key: `${status}|${ready}`, text: `${title}: ${status}${ready ? `, ${ready} image${ready === 1 ? "" : "s"} so far` : ""}.` };
}

function remember(card) {
  if (card.id) seen.set(card.id, summary(card).key);
}

document.querySelectorAll("article.job-card").forEach(remember);

document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail && event.detail.elt;
  const cards = target instanceof Element ? [target, ...target.querySelectorAll("article.job-card")] : [];
  for (const card of cards) {
    if (!(card instanceof Element) || !card.matches("article.job-card") || !card.isConnected) continue;
    const now = summary(card);
    if (seen.get(card.id) !== now.key && announcer) announcer.textContent = now.text;
    seen.set(card.id, now.key);
  }
});

const hash = window.location.hash.slice(1);
const arrived = hash && /^job-\d+$/.test(hash) ? document.getElementById(hash) : null;
if (arrived) {
  arrived.setAttribute("tabindex", "-1");
  arrived.focus({ preventScroll: false });
}
