// Small progressive enhancements; every page works without JavaScript.
// No inline handlers anywhere (the Content-Security-Policy forbids them): pages mark
// elements with data- attributes and these document-level listeners do the rest, so the
// same behaviour also covers fragments htmx swaps in later.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    });
  }
});
// <a href="/fallback/" data-back>: go back in history when there is one, else follow href.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (!link || window.history.length < 2 || !document.referrer) return;
  event.preventDefault();
  window.history.back();
});
// <select data-autosubmit>: submit its form on change (a <noscript> button does it otherwise).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});
// <input type=checkbox data-check-all="NAME">: ticks or clears every checkbox NAME of its table.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("input[type=checkbox][data-check-all]")) return;
  const scope = box.closest("table") || box.form || document;
  scope.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`)
    .forEach((c) => { c.checked = box.checked; });
});
// [data-kinds="a b"] blocks inside a form with #id_kind: show only those the chosen kind
// uses (without JavaScript every block stays visible). Used by the tariff rule form.
function syncKinds() {
  const kind = document.getElementById("id_kind");
  if (!kind) return;
  document.querySelectorAll("[data-kinds]").forEach((el) => {
    const uses = el.dataset.kinds.split(" ").indexOf(kind.value) >= 0;
    el.hidden = !uses && !el.querySelector(".error");
  });
}
document.addEventListener("change", (event) => {
  if (event.target.id === "id_kind") syncKinds();
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncKinds);
else syncKinds();
