// Copy buttons: <button data-copy-target="#field-id">Copy</button> copies the field's value and says so
// in the button (and to screen readers through its live region). Falls back to selecting the field.
function copyButtons() {
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = document.querySelector(button.dataset.copyTarget);
      if (!field) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        field.focus();
        field.select();
        button.textContent = "Press Ctrl+C";
      }
      window.setTimeout(() => { button.textContent = label; }, 2000);
    });
  });
}

copyButtons();
