// Draws every <canvas data-chart='{"type","labels","data"}'> with Chart.js (no inline script: strict CSP).
document.addEventListener('DOMContentLoaded', () => {
  if (!window.Chart) return;
  const palette = ['#0d6efd', '#198754', '#ffc107', '#dc3545', '#6f42c1', '#20c997', '#fd7e14', '#0dcaf0', '#6c757d', '#d63384'];
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const cfg = JSON.parse(canvas.dataset.chart);
    const round = cfg.type === 'doughnut';
    new window.Chart(canvas, {
      type: cfg.type,
      data: {
        labels: cfg.labels,
        datasets: [{ data: cfg.data, backgroundColor: round ? palette : palette[0], borderWidth: round ? 1 : 0 }],
      },
      options: {
        indexAxis: cfg.horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: round, position: 'bottom' } },
        scales: round ? {} : { x: { ticks: { precision: 0 } }, y: { ticks: { precision: 0 } } },
      },
    });
  }
});
