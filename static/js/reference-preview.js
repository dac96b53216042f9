// Reference uploads, previewed before sending (issue 14): each chosen file shows as a thumbnail with its
// name, size and pixel size, and a Remove button. Choosing files again adds to the selection instead of
// replacing it, so references can be gathered from several folders.
//
// Why in the browser: a marketer should see which picture goes with the edit before any money is spent.
// The preview reads the local file through URL.createObjectURL (no upload, no FileReader data URL in
// memory); the server still validates every file by content (studio/lib/imaging/uploads.py), so a
// file that looks wrong here is only flagged, never silently dropped.
// Progressive enhancement of the edit form's <input type="file" multiple> inside [data-reference-upload]:
// without JavaScript (or without DataTransfer) it is the plain file input. No inline styles or scripts.

const ACCEPTED = ["image/png", "image/jpeg", "image/webp"];
const ready = new WeakSet();

function bytes(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${Math.round(size / 1024)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

function sameFile(a, b) {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

class ReferencePreview {
  constructor(root) {
    this.root = root;
    this.input = root.querySelector('input[type="file"]');
    this.list = root.querySelector("[data-reference-previews]");
    this.status = root.querySelector("[data-reference-status]");
    this.max = parseInt(root.dataset.max || "0", 10) || 0;
    this.files = Array.from(this.input.files || []);
    this.urls = new Map(); // File -> object URL, revoked when the file leaves the list
    this.input.addEventListener("change", () => this.onChange());
    const form = this.input.form;
    if (form) form.addEventListener("reset", () => { this.files = []; this.render(); });
    this.render();
  }

  onChange() {
    const chosen = Array.from(this.input.files || []);
    for (const file of chosen) if (!this.files.some((kept) => sameFile(kept, file))) this.files.push(file);
    this.commit();
    this.render();
    const n = this.files.length;
    this.announce(`${n} reference image${n === 1 ? "" : "s"} chosen`);
  }

  remove(index) {
    const [file] = this.files.splice(index, 1);
    this.commit();
    this.render();
    this.announce(`Removed ${file.name}. ${this.files.length} left.`);
    // Keep the keyboard where it was: the next Remove button, or the file input when the list is empty.
    const buttons = this.list.querySelectorAll("button[data-remove]");
    (buttons[Math.min(index, buttons.length - 1)] || this.input).focus();
  }

  // What the form sends is the input's FileList: rebuild it from the kept files.
  commit() {
    const transfer = new DataTransfer();
    for (const file of this.files) transfer.items.add(file);
    this.input.files = transfer.files;
  }

  urlFor(file) {
    if (!this.urls.has(file)) this.urls.set(file, URL.createObjectURL(file));
    return this.urls.get(file);
  }

  render() {
    for (const [file, url] of this.urls) {
      if (!this.files.includes(file)) {
        URL.revokeObjectURL(url);
        this.urls.delete(file);
      }
    }
    this.list.replaceChildren(...this.files.map((file, index) => this.item(file, index)));
    this.list.hidden = this.files.length === 0;
    const over = this.max && this.files.length > this.max;
    this.root.classList.toggle("es-ref-over", Boolean(over));
    let note = this.root.querySelector("[data-reference-over]");
    if (over && !note) {
      note = document.createElement("p");
      note.className = "field-error";
      note.dataset.referenceOver = "";
      this.list.after(note);
    }
    if (note) {
      note.hidden = !over;
      note.textContent = over ? `Choose at most ${this.max}: remove ${this.files.length - this.max}.` : "";
    }
  }

  item(file, index) {
    const li = document.createElement("li");
    li.className = "es-ref-preview";
    li.dataset.referencePreview = file.name;
    const accepted = ACCEPTED.includes(file.type);
    if (accepted) {
      const img = document.createElement("img");
      img.alt = `Preview of ${file.name}`;
      img.width = 64;
      img.height = 64;
      img.src = this.urlFor(file);
      img.addEventListener("load", () => {
        const size = li.querySelector("[data-reference-size]");
        if (size) size.textContent = `${img.naturalWidth}x${img.naturalHeight} px · ${bytes(file.size)}`;
      });
      img.addEventListener("error", () => {
        img.replaceWith(this.placeholder());
        this.warn(li, "The browser cannot show this picture: it may be damaged and refused when you send it.");
      });
      li.append(img);
    } else {
      li.append(this.placeholder());
    }
    const text = document.createElement("span");
    text.className = "es-ref-preview-text small";
    const name = document.createElement("span");
    name.className = "es-ref-preview-name";
    name.textContent = file.name;
    const size = document.createElement("span");
    size.className = "muted";
    size.dataset.referenceSize = "";
    size.textContent = bytes(file.size);
    text.append(name, size);
    li.append(text);
    if (!accepted) this.warn(li, "Not a PNG, JPEG or WebP image: it will be refused.");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-ghost";
    button.dataset.remove = String(index);
    button.textContent = "Remove";
    button.setAttribute("aria-label", `Remove ${file.name}`);
    button.addEventListener("click", () => this.remove(index));
    li.append(button);
    return li;
  }

  placeholder() {
    const box = document.createElement("span");
    box.className = "es-ref-placeholder";
    box.setAttribute("aria-hidden", "true");
    box.textContent = "?";
    return box;
  }

  warn(li, message) {
    const text = li.querySelector(".es-ref-preview-text");
    const warning = document.createElement("span");
    warning.className = "es-ref-warning";
    warning.textContent = message;
    text.append(warning);
  }

  announce(message) {
    if (!this.status) return;
    this.status.textContent = "";
    window.requestAnimationFrame(() => { this.status.textContent = message; });
  }
}

export function initReferencePreviews(scope = document) {
  if (typeof DataTransfer === "undefined") return [];
  const found = [];
  for (const root of scope.querySelectorAll("[data-reference-upload]")) {
    if (ready.has(root) || !root.querySelector('input[type="file"]') || !root.querySelector("[data-reference-previews]")) continue;
    ready.add(root);
    found.push(new ReferencePreview(root));
  }
  return found;
}

initReferencePreviews();
document.addEventListener("htmx:load", (event) => initReferencePreviews(event.target));
