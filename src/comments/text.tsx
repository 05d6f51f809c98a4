// Comment text as plain text: line breaks kept, http(s) addresses made into links, everything else escaped
// by Preact. There is no raw-HTML path here, so a comment can never carry markup or script.
import { Fragment } from 'preact';

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// An address starts at "http(s)://" not glued to a preceding letter or digit and runs to a blank or a
// character that cannot be part of a typed link.
const URL_CANDIDATE = /(?<![\p{L}\p{N}])https?:\/\/[^\s<>"'`]+/giu;
const TRAILING_PUNCTUATION = /[.,;:!?…]$/u;

/** Drops what usually ends a sentence rather than the link: "see https://x.com/a." or "(https://x.com)". */
function trimTrailing(candidate: string): string {
  let url = candidate;
  for (;;) {
    if (TRAILING_PUNCTUATION.test(url)) { url = url.slice(0, -1); continue; }
    const last = url.at(-1);
    const pair = last === ')' ? '(' : last === ']' ? '[' : last === '}' ? '{' : null;
    if (pair && url.split(pair).length < url.split(last!).length) { url = url.slice(0, -1); continue; }
    return url;
  }
}

/** The link target for a typed address, or null when it is not a well-formed http(s) URL. */
export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
  return url.href;
}

/** Splits one line of text into plain parts and link parts. */
export function linkify(line: string): TextPart[] {
  const parts: TextPart[] = [];
  let rest = 0;
  const pushText = (text: string) => {
    if (!text) return;
    const prev = parts.at(-1);
    if (prev?.kind === 'text') prev.text += text;
    else parts.push({ kind: 'text', text });
  };
  for (const match of line.matchAll(URL_CANDIDATE)) {
    const start = match.index;
    const text = trimTrailing(match[0]);
    const href = safeHref(text);
    if (!href) continue;
    pushText(line.slice(rest, start));
    parts.push({ kind: 'link', text, href });
    rest = start + text.length;
  }
  pushText(line.slice(rest));
  return parts;
}

/** A comment's text, with its line breaks and safe links; opens links in a new tab without giving it this page. */
export function CommentText({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <div class="comment-text text-break" data-testid="comment-text">
      {lines.map((line, i) => (
        <Fragment>
          {i > 0 && <br />}
          {linkify(line).map((part) => part.kind === 'link'
            ? <a href={part.href} rel="noopener noreferrer nofollow ugc" target="_blank">{part.text}</a>
            : part.text)}
        </Fragment>
      ))}
    </div>
  );
}
