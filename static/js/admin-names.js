// select2 (the admin's autocomplete boxes) draws its own combobox beside the hidden <select>,
// named after the chosen value only, or not at all when nothing is chosen: screen readers
// and axe-core find a nameless field. Each box takes its <select>'s name (its <label>, or
// the aria-label that tabular rows give it), with the chosen value after it.
"use strict";
{
  const nameOf = (select) => {
    if (select.getAttribute("aria-label")) return select.getAttribute("aria-label");
    const label = select.id && document.querySelector(`label[for="${select.id}"]`);
    return label ? label.textContent.replace(/\s*:\s*$/, "").trim() : "";
  };

  const nameBoxes = () => {
    document.querySelectorAll("select.admin-autocomplete").forEach((select) => {
      const box = select.nextElementSibling;
      const name = nameOf(select);
      if (!box || !box.classList.contains("select2") || !name) return;
      box.querySelectorAll('[role="combobox"]').forEach((combobox) => {
        const chosen = Array.from(select.selectedOptions, (option) => option.text).join(", ");
        combobox.removeAttribute("aria-labelledby");
        combobox.setAttribute("aria-label", chosen ? `${name} : ${chosen}` : name);
      });
      // The chosen value's own span is a read-only textbox to select2.
      box.querySelectorAll('.select2-search__field, [role="textbox"]').forEach((field) => {
        field.setAttribute("aria-label", name);
      });
    });
  };

  // After Django's autocomplete.js has drawn the boxes (on its own DOMContentLoaded), and
  // again whenever select2 redraws one (a choice, a new row): it rewrites its children.
  let pending = false;
  const soon = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      nameBoxes();
    });
  };
  window.addEventListener("load", () => {
    nameBoxes();
    new MutationObserver(soon).observe(document.body, { childList: true, subtree: true });
  });
}
