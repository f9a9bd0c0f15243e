// Renders the Vega-Lite spec embedded by the inequalities page (no inline script: CSP-friendly).
const inequalitiesSpec = document.getElementById("inequalities-spec");
if (inequalitiesSpec && window.vegaEmbed) {
  window.vegaEmbed("#inequalities-chart", JSON.parse(inequalitiesSpec.textContent), { actions: false });
}
