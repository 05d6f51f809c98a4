// Progressive enhancement only: every page works without it. No inline scripts (strict CSP).
document.addEventListener('DOMContentLoaded', () => {
  // Success and info messages fade after a while; warnings and errors stay until dismissed.
  for (const el of document.querySelectorAll('.flash-area .alert-success, .flash-area .alert-info')) {
    setTimeout(() => el.classList.remove('show'), 6000);
  }
  // Confirm dangerous actions: <form data-confirm="Text">.
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
});
