// Pipeline board: drag a card to another column (HTML5 drag and drop). The move is posted to the same
// endpoint as the card's own form, with the CSRF header; the forms keep working without this file.
document.addEventListener('DOMContentLoaded', () => {
  const board = document.querySelector('[data-board]');
  if (!board) return;
  board.dataset.enhanced = 'true';
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const status = document.getElementById('board-status');
  let dragged = null;

  const columnOf = (el) => el?.closest?.('.board-col') ?? null;
  const listOf = (col) => col.querySelector('.board-list');
  const announce = (text) => { if (status) status.textContent = text; };
  const recount = (col, delta) => {
    const badge = col.querySelector('[data-count]');
    if (badge) badge.textContent = String(Math.max(0, Number(badge.textContent) + delta));
    const empty = col.querySelector('.board-empty');
    if (empty) empty.hidden = listOf(col).children.length > 0;
  };

  async function move(card, to) {
    const from = columnOf(card);
    const after = card.nextElementSibling;
    const select = card.querySelector('.board-move select');
    const previous = select?.value;
    listOf(to).prepend(card);
    recount(from, -1);
    recount(to, +1);
    if (select) select.value = to.dataset.stageId;
    card.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(board.dataset.moveUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ lead_id: Number(card.dataset.leadId), stage_id: to.dataset.stageId }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      announce(data.message ?? '');
      card.dataset.moved = to.dataset.stageId;
    } catch {
      // Put the card back where it was and say so.
      listOf(from).insertBefore(card, after && after.parentElement === listOf(from) ? after : null);
      recount(to, -1);
      recount(from, +1);
      if (select && previous !== undefined) select.value = previous;
      announce(board.dataset.msgFailed ?? '');
      window.alert(board.dataset.msgFailed ?? '');
    } finally {
      card.removeAttribute('aria-busy');
    }
  }

  board.addEventListener('dragstart', (e) => {
    const card = e.target.closest?.('.board-card');
    // Dragging inside the move form (the select) is not a card drag.
    if (!card || e.target.closest('.board-move')) return;
    dragged = card;
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', card.dataset.leadId);
    card.classList.add('board-dragging');
  });
  board.addEventListener('dragend', () => {
    dragged?.classList.remove('board-dragging');
    dragged = null;
    for (const col of board.querySelectorAll('.board-drop')) col.classList.remove('board-drop');
  });
  board.addEventListener('dragover', (e) => {
    if (!dragged) return;
    // Near the board's left or right edge, scroll it so columns off screen can be reached.
    const box = board.getBoundingClientRect();
    if (e.clientX < box.left + 48) board.scrollBy({ left: -24 });
    else if (e.clientX > box.right - 48) board.scrollBy({ left: 24 });
    const col = columnOf(e.target);
    if (!col) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    for (const other of board.querySelectorAll('.board-drop')) if (other !== col) other.classList.remove('board-drop');
    col.classList.add('board-drop');
  });
  board.addEventListener('dragleave', (e) => {
    const col = columnOf(e.target);
    if (col && !col.contains(e.relatedTarget)) col.classList.remove('board-drop');
  });
  board.addEventListener('drop', (e) => {
    const col = columnOf(e.target);
    const card = dragged;
    if (!col || !card) return;
    e.preventDefault();
    col.classList.remove('board-drop');
    if (columnOf(card) !== col) move(card, col);
  });

  // Keyboard: Enter on a card's stage list submits its form (the button does the same).
  board.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !e.target.matches?.('.board-move select')) return;
    e.preventDefault();
    e.target.form.requestSubmit();
  });
});
