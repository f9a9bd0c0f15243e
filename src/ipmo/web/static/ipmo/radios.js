// Radios with conditional content (NHS.UK frontend reveals them), two fixes on top:
// 1. NHS.UK frontend puts aria-expanded on a radio that reveals content, which ARIA does not
//    allow on role=radio (axe "aria-allowed-attr", serious). GOV.UK Frontend dropped the
//    attribute from its conditional reveals for this reason; the revealed content follows its
//    radio in reading order, so nothing is lost by removing it.
// 2. Fields inside a hidden part (another option's details) are not sent: a form submitted with
//    JavaScript carries only the chosen option's details. Without JavaScript every part shows
//    and the server checks what was sent.
export function initRadios() {
  const strip = (el) => {
    if (el.matches?.("input[type=radio][aria-expanded]")) el.removeAttribute("aria-expanded");
  };
  document.querySelectorAll("input[type=radio][aria-expanded]").forEach(strip);
  new MutationObserver((changes) => changes.forEach((c) => strip(c.target))).observe(
    document.body,
    { attributes: true, attributeFilter: ["aria-expanded"], subtree: true },
  );
  const fields = (form, hidden) =>
    form.querySelectorAll(
      `.nhsuk-radios__conditional${hidden ? "--hidden" : ""} :is(input, select, textarea)`,
    );
  document.addEventListener("submit", (event) => {
    fields(event.target, true).forEach((el) => { el.disabled = true; });
  });
  // coming back to the page (back button, page cache): the fields are usable again
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form").forEach((form) => {
      fields(form, false).forEach((el) => { el.disabled = false; });
    });
  });
}
