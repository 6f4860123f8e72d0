// The update page: the reason field shows only when the chosen status asks for one (a new
// postponement or abandonment). Without this script it is always shown.
document.addEventListener("DOMContentLoaded", () => {
  const row = document.querySelector(".reason-row");
  const radios = document.querySelectorAll('input[name="status"]');
  if (!row || !radios.length) return;
  const needing = row.dataset.needsReason.split(" ");
  const current = row.dataset.current;
  const update = () => {
    const chosen = document.querySelector('input[name="status"]:checked');
    const value = chosen ? chosen.value : current;
    const asks = value !== current && needing.includes(value);
    // A refused reason stays in view with its message.
    row.hidden = !asks && !row.classList.contains("errors");
    row.querySelector("textarea").required = asks;
  };
  radios.forEach((radio) =>
    radio.addEventListener("change", () => {
      update();
      // The reason is what she types next: no click to reach it.
      if (!row.hidden) row.querySelector("textarea").focus();
    }),
  );
  update();
});
