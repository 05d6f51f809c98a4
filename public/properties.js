// Property form: "add a layout row" without a round trip (the button still works without JavaScript,
// re-showing the form with more rows). No inline scripts (strict CSP).
document.addEventListener('DOMContentLoaded', () => {
  const button = document.querySelector('[data-add-unit]');
  const container = document.querySelector('[data-unit-rows]');
  if (!button || !container) return;
  button.addEventListener('click', (e) => {
    const rows = container.querySelectorAll('.unit-row');
    const last = rows[rows.length - 1];
    if (!last) return; // nothing to copy: let the server add rows
    e.preventDefault();
    const next = Math.max(...[...rows].map((r) => Number(r.dataset.row))) + 1;
    const row = last.cloneNode(true);
    row.dataset.row = String(next);
    row.querySelectorAll('input[type="hidden"]').forEach((el) => el.remove());
    row.querySelectorAll('.invalid-feedback').forEach((el) => el.remove());
    row.querySelectorAll('[id], [name], [for]').forEach((el) => {
      for (const attr of ['id', 'name', 'for']) {
        const v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace(/_\d+$/, `_${next}`));
      }
      el.classList.remove('is-invalid');
      el.removeAttribute('aria-invalid');
      if (el.matches('input[type="checkbox"]')) el.checked = false;
      else if (el.matches('input')) el.value = '';
      else if (el.matches('select')) el.selectedIndex = 0;
    });
    const skip = row.querySelector('.form-check-label');
    if (skip && button.dataset.skipLabel) skip.textContent = button.dataset.skipLabel;
    container.appendChild(row);
    row.querySelector('select')?.focus();
  });
});
