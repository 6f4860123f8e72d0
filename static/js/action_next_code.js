"use strict";
// The add form proposes the next free code of the chosen sub-objective (the admin's
// "prochain-code" address); a code she typed herself is never replaced. Without this
// script, an empty code is filled in by the server when the form is saved.
document.addEventListener("DOMContentLoaded", () => {
  const code = document.getElementById("id_code");
  const subObjective = document.getElementById("id_sub_objective");
  if (!code || !subObjective || !code.dataset.nextCodeUrl) {
    return;
  }
  let proposed = code.value;
  subObjective.addEventListener("change", async () => {
    if (!subObjective.value || (code.value && code.value !== proposed)) {
      return;
    }
    const url = new URL(code.dataset.nextCodeUrl, window.location.href);
    url.searchParams.set("sub_objective", subObjective.value);
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        return;
      }
      const data = await response.json();
      if (!code.value || code.value === proposed) {
        code.value = data.code;
        proposed = data.code;
      }
    } catch {
      // The server fills in an empty code when the form is saved.
    }
  });
});
