// CSV import (progressive enhancement; both pages work without it, see src/import/).
document.addEventListener('DOMContentLoaded', () => {
  // Preview: choosing another field for a column checks the rows again at once.
  const mapping = document.querySelector('form[data-import-mapping]');
  if (mapping) {
    for (const select of mapping.querySelectorAll('select')) {
      select.addEventListener('change', () => {
        for (const b of document.querySelectorAll('[data-testid="start-import"]')) b.disabled = true;
        mapping.requestSubmit();
      });
    }
  }

  // Upload: a file over the limit is refused before it is sent (the server refuses it too).
  const file = document.querySelector('input[type="file"][data-max-bytes]');
  file?.form?.addEventListener('submit', (e) => {
    const chosen = file.files?.[0];
    if (!chosen || chosen.size <= Number(file.dataset.maxBytes)) return;
    e.preventDefault();
    let message = document.getElementById('f-file-error');
    if (!message) {
      message = document.createElement('div');
      message.id = 'f-file-error';
      message.className = 'invalid-feedback';
      message.dataset.fieldError = 'file';
      file.parentElement.appendChild(message);
    }
    message.textContent = file.dataset.tooLarge;
    file.classList.add('is-invalid');
    file.setAttribute('aria-invalid', 'true');
    file.setAttribute('aria-describedby', 'f-file-help f-file-error');
    file.focus();
  });

  // Progress: ask the server where the import is; reload the page (summary or error) when it has finished.
  const box = document.querySelector('[data-import-progress]');
  if (!box) return;
  const bar = box.querySelector('progress');
  const percent = box.querySelector('[data-progress-percent]');
  const text = box.querySelector('[data-progress-text]');
  const poll = async () => {
    try {
      const res = await fetch(box.dataset.importProgress, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.ok) {
        const p = await res.json();
        if (bar) {
          bar.max = Math.max(1, p.total);
          bar.value = p.processed;
        }
        if (percent) percent.textContent = `${p.percent}%`;
        if (text) text.textContent = p.text;
        if (p.finished) {
          window.location.assign(box.dataset.importPage);
          return;
        }
      }
    } catch {
      /* the next poll tries again */
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 500);
});
