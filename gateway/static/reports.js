// Draws a report's chart from the figures the page carries (data-chart); the table beside it
// holds the same figures, so without this script, or without Chart.js, nothing is lost but the picture.
(function () {
  "use strict";
  var canvas = document.getElementById("report-chart");
  if (!canvas || typeof window.Chart === "undefined") { return; }
  var spec = JSON.parse(canvas.getAttribute("data-chart"));
  var colours = ["#1f5fa8", "#c0392b", "#27864a", "#b9770e"];
  new window.Chart(canvas, {
    type: spec.kind === "line" ? "line" : "bar",
    data: {
      labels: spec.labels,
      datasets: spec.series.map(function (s, i) {
        return {label: s.name, data: s.data, backgroundColor: colours[i % colours.length],
                borderColor: colours[i % colours.length]};
      })
    },
    options: {responsive: true, maintainAspectRatio: false, animation: false,
              scales: {y: {beginAtZero: true}}}
  });
  canvas.setAttribute("data-drawn", "yes");
})();
