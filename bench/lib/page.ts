// A fixed HTML page of a given size (Cyrillic table rows, as a Buffer, as the app sends its pages): what
// moving a page of the dashboard's size costs by itself. Served by the bare app and, through every hook,
// by the benchmark's real app.
const pages = new Map<number, Buffer>();

export function benchPage(bytes: number): Buffer | null {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1_000_000) return null;
  let body = pages.get(bytes);
  if (!body) {
    const row = '<tr><td><a href="/leads/1">Клієнт Сторінки</a></td><td>+380 50 123 4567</td></tr>';
    const html = Buffer.from(`<!doctype html><html lang="uk"><body><table>${row.repeat(Math.ceil(bytes / Buffer.byteLength(row)))}`);
    body = html.subarray(0, bytes);
    pages.set(bytes, body);
  }
  return body;
}
