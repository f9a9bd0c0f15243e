// Renders the Vega-Lite spec embedded by the measure page (no inline script: CSP-friendly).
const spec = document.getElementById("deciles-spec");
if (spec && window.vegaEmbed) {
  window.vegaEmbed("#deciles-chart", JSON.parse(spec.textContent), { actions: false });
}
