// Postponing asks when the action now happens: the choice shows only when "Reportée" is
// chosen (and was not the status already), and new periods and "no date yet" exclude each
// other. Without this script the choice is always shown and the server says what is wrong.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector(".postpone-choice");
  const radios = document.querySelectorAll('input[name="status"]');
  if (!box || !radios.length) return;
  const periods = box.querySelectorAll('input[name="periods"]');
  const withoutDate = box.querySelector('input[name="without_date"]');
  const update = () => {
    const chosen = document.querySelector('input[name="status"]:checked');
    const asks = chosen && chosen.value === "postponed" && box.dataset.current !== "postponed";
    // A refused choice stays in view with its message.
    box.hidden = !asks && !box.classList.contains("errors");
  };
  radios.forEach((radio) => radio.addEventListener("change", update));
  periods.forEach((period) =>
    period.addEventListener("change", () => {
      if (period.checked && withoutDate) withoutDate.checked = false;
    }),
  );
  if (withoutDate)
    withoutDate.addEventListener("change", () => {
      if (withoutDate.checked) periods.forEach((period) => (period.checked = false));
    });
  update();
});
