// The coding view's keys: a code's key ticks it, Enter saves and moves on, ← goes back.
// Typing in a field is left alone.
const form = document.getElementById("coding-form");
if (form) {
  const boxes = new Map();
  for (const box of form.querySelectorAll("input[data-key]")) boxes.set(box.dataset.key, box);
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && t.matches("input[type=text], textarea, select")) return;
    if (e.key === "Enter" && !(t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement)) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === "ArrowLeft") {
      const prev = document.getElementById("prev-link");
      if (prev) { e.preventDefault(); prev.click(); }
    } else if (boxes.has(e.key.toLowerCase())) {
      e.preventDefault();
      const box = boxes.get(e.key.toLowerCase());
      box.checked = !box.checked;
      box.focus({ preventScroll: true });
    }
  });
}
