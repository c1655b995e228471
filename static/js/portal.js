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
  }
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
  // Ask before destructive actions; the server checks again.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
});
