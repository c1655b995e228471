// Small enhancements for the portal; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Issue form: the hours field only when "custom" is chosen.
  const validity = document.getElementById("validity");
  if (validity) {
    const custom = document.querySelectorAll(".custom-hours");
    const sync = () => {
      const on = validity.value === "custom";
      custom.forEach((el) => { el.hidden = !on; if (el.tagName === "INPUT") el.required = on; });
    };
    validity.addEventListener("change", sync);
    sync();
    // Sheet printing: the expiry hint follows the validity chosen.
    const at = document.getElementById("expiry-at");
    if (at) {
      validity.addEventListener("change", () => {
        const chosen = validity.selectedOptions[0];
        if (chosen && chosen.dataset.expires) at.textContent = chosen.dataset.expires;
      });
    }
  }
  // Only a button that says so opens the print dialog (a download button must not).
  document.querySelectorAll("button[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
  // Ask before destructive actions; the server checks again.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
});
