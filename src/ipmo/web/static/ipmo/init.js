// Start the NHS.UK frontend components (header "More" menu, error summary focus, …): the module
// only exports them. A file, not an inline script, so a strict Content-Security-Policy allows it.
import { initAll } from "/assets/nhsuk-frontend.min.js";
import { initDmdSearch } from "/static/ipmo/dmd-search.js";
import { initRadios } from "/static/ipmo/radios.js";

initAll();
initDmdSearch();
initRadios();
