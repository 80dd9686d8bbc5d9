// gongdan console: small progressive enhancements; every page works without this.
document.addEventListener("DOMContentLoaded", function () {
  // Filters apply as soon as a select changes.
  document.querySelectorAll("form.filters select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  // The action form asks before irreversible steps.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      var verb = f.querySelector("select[name=verb]");
      if (verb && ["驳回", "合并", "非投诉"].indexOf(verb.value) >= 0 && !confirm(f.dataset.confirm)) {
        e.preventDefault();
      }
    });
  });
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
});
