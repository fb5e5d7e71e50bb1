// Tenants pages (progressive: without JavaScript every block stays visible).
// <fieldset data-show-if="id_incoming_tenant=new">: shown only while that select has that
// value (or while it shows an error). Used by the move wizard's "new tenant" fields.
function syncShowIf() {
  document.querySelectorAll("[data-show-if]").forEach((el) => {
    const [id, value] = el.dataset.showIf.split("=");
    const select = document.getElementById(id);
    if (!select) return;
    el.hidden = select.value !== value && !el.querySelector(".error");
  });
}
document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("select")) syncShowIf();
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncShowIf);
else syncShowIf();
