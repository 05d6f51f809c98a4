// Progressive enhancement only: every page works without it (the one thing it adds that a page lacks:
// the admins' agent filter lists every agent, see below). No inline scripts (strict CSP).
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

// Lead form: tell the agent at once when the client is already registered (never whose client).
document.addEventListener('DOMContentLoaded', () => {
  const hint = document.getElementById('duplicate-hint');
  const form = hint?.closest('form');
  if (!hint || !form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  let timer = 0;
  let seq = 0;
  const check = async () => {
    const phone = form.elements.namedItem('phone')?.value ?? '';
    const email = form.elements.namedItem('email')?.value ?? '';
    if (phone.replace(/\D/g, '').length < 7 && !email.includes('@')) {
      hint.textContent = '';
      return;
    }
    const mine = ++seq;
    try {
      const res = await fetch(hint.dataset.checkUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ phone, email, ...(hint.dataset.excludeId ? { exclude_id: Number(hint.dataset.excludeId) } : {}) }),
      });
      if (!res.ok || mine !== seq) return;
      const { duplicate } = await res.json();
      hint.textContent = duplicate ? hint.dataset.msgFound : hint.dataset.msgNone;
      hint.className = `form-text mb-3 ${duplicate ? 'text-warning-emphasis fw-semibold' : 'text-success'}`;
      hint.dataset.state = duplicate ? 'duplicate' : 'new';
    } catch {
      /* the hint is advisory: the server checks again on save */
    }
  };
  for (const name of ['phone', 'email']) {
    form.elements.namedItem(name)?.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(check, 500);
    });
  }
});

// The admins' agent filter: the page carries "all", "my brokers" and the chosen agent; the other agents
// come from <select data-options="…">'s address (JSON {agents: [{id, name}]}, cached by the browser a minute).
document.addEventListener('DOMContentLoaded', async () => {
  for (const select of document.querySelectorAll('select[data-options]')) {
    try {
      const res = await fetch(select.dataset.options, { headers: { accept: 'application/json' } });
      if (!res.ok) continue;
      const { agents } = await res.json();
      // In the list's order (by name), the chosen agent among them; kept as it is if it is no longer listed.
      const chosen = select.value;
      const listed = agents.some((agent) => String(agent.id) === chosen);
      for (const option of [...select.options]) {
        if (option.value !== '' && option.value !== 'mine' && (listed || option.value !== chosen)) option.remove();
      }
      for (const agent of agents) select.add(new Option(agent.name, String(agent.id), false, String(agent.id) === chosen));
      select.dataset.loaded = 'true';
    } catch {
      /* the filter still offers all agents, my brokers and the chosen one */
    }
  }
});
