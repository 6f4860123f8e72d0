"use strict";
// A list with editable rows: a changed row is marked "not saved" until the list is saved,
// the save button stays in view, and leaving the page asks first. Without this, a changed
// menu looks like a saved one.
window.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("changelist-form");
  const save = form && form.querySelector("input[name='_save']");
  if (save) {
    const notice = document.createElement("span");
    notice.className = "unsaved-notice";
    notice.setAttribute("role", "status");
    save.parentNode.classList.add("list-save-bar");
    save.parentNode.insertBefore(notice, save);
    const changed = new Set();
    let submitting = false;

    form.addEventListener("change", (event) => {
      const row = event.target.closest("#result_list tbody tr");
      if (!row || event.target.name === "_selected_action") {
        return;
      }
      row.classList.add("unsaved");
      changed.add(row);
      notice.textContent = interpolate(
        ngettext(
          "%s ligne modifiée, pas encore enregistrée.",
          "%s lignes modifiées, pas encore enregistrées.",
          changed.size
        ),
        [changed.size]
      );
    });
    form.addEventListener("submit", () => {
      submitting = true;
    });
    window.addEventListener("beforeunload", (event) => {
      if (changed.size && !submitting) {
        event.preventDefault();
      }
    });
  }
});
