// Builders for the event contents the bot sends: notices (optionally replies, thread messages, with mentions),
// edits (m.replace) and reactions. Everything is held under the event size limit here.
import { escapeHtml } from "../util/html.js";
import { MAX_CONTENT_BYTES, jsonBytes, splitLines, cutToBytes } from "../util/size.js";

export interface Relation {
  /** m.in_reply_to target. */
  replyTo?: string;
  /** Thread root (m.thread) and the latest event in the thread (for the reply fallback). */
  thread?: { root: string; last?: string };
}

export interface Part {
  text: string;
  html?: string;
}

const HTML_FORMAT = "org.matrix.custom.html";

/** An edit carries the text twice (fallback and m.new_content), so each copy gets half the budget. */
export const EDIT_BUDGET = Math.floor(MAX_CONTENT_BYTES / 2) - 1024;

export function mentionHtml(userId: string): string {
  return `<a href="https://matrix.to/#/${encodeURIComponent(userId)}">${escapeHtml(userId)}</a>`;
}

export function noticeContent(part: Part, rel: Relation = {}, mentions: string[] = []): Record<string, unknown> {
  const content: Record<string, unknown> = { msgtype: "m.notice", body: part.text };
  if (part.html !== undefined) {
    content.format = HTML_FORMAT;
    content.formatted_body = part.html;
  }
  if (rel.thread) {
    content["m.relates_to"] = {
      rel_type: "m.thread",
      event_id: rel.thread.root,
      is_falling_back: true,
      "m.in_reply_to": { event_id: rel.thread.last ?? rel.thread.root },
    };
  } else if (rel.replyTo) {
    content["m.relates_to"] = { "m.in_reply_to": { event_id: rel.replyTo } };
  }
  content["m.mentions"] = mentions.length ? { user_ids: [...new Set(mentions)] } : {};
  return content;
}

/** An edit of `target`: the full new content in m.new_content, "* "-prefixed fallback outside. */
export function editContent(target: string, part: Part, msgtype = "m.notice"): Record<string, unknown> {
  const inner: Record<string, unknown> = { msgtype, body: part.text, "m.mentions": {} };
  if (part.html !== undefined) {
    inner.format = HTML_FORMAT;
    inner.formatted_body = part.html;
  }
  const content: Record<string, unknown> = {
    msgtype,
    body: `* ${part.text}`,
    "m.new_content": inner,
    "m.relates_to": { rel_type: "m.replace", event_id: target },
    "m.mentions": {},
  };
  if (part.html !== undefined) {
    content.format = HTML_FORMAT;
    content.formatted_body = `* ${part.html}`;
  }
  return content;
}

export function reactionContent(target: string, key: string): Record<string, unknown> {
  return { "m.relates_to": { rel_type: "m.annotation", event_id: target, key } };
}

const partBytes = (p: Part) => jsonBytes(p.text) + (p.html !== undefined ? jsonBytes(p.html) : 0);

/**
 * Makes a reply fit: as is when small enough; otherwise the plain text split on line boundaries into at most
 * `maxParts` messages (HTML re-made from the escaped text), the rest dropped with a note saying so.
 */
export function fitParts(part: Part, opts: { budget?: number; maxParts?: number } = {}): Part[] {
  const budget = opts.budget ?? MAX_CONTENT_BYTES;
  const maxParts = opts.maxParts ?? 4;
  if (partBytes(part) <= budget - 512) return [part];
  // Escaped HTML can be ~6x the text (all quotes); plan for the text being at most a third of the budget.
  const chunkBytes = Math.floor((budget - 1024) / 3);
  const chunks = splitLines(part.text, chunkBytes);
  const kept = chunks.slice(0, maxParts);
  const dropped = chunks.slice(maxParts);
  const droppedLines = dropped.reduce((n, c) => n + c.split("\n").length, 0);
  const parts: Part[] = kept.map((c, i) => {
    const label = kept.length > 1 ? ` (part ${i + 1}/${kept.length})` : "";
    const text =
      i === kept.length - 1 && droppedLines
        ? `${c}\n… ${droppedLines} more line${droppedLines === 1 ? "" : "s"} not shown (the reply was too long for one Matrix message)${label}`
        : `${c}${label ? `\n${label.trim()}` : ""}`;
    return { text, html: escapeHtml(text).replace(/\n/g, "<br/>") };
  });
  // Escaping can make the HTML ~5x the text (every character & or '), so one cut to a fixed share may not be enough:
  // cut until text and HTML together fit (with room for the rest of the content, as above).
  for (const p of parts) {
    for (let max = Math.floor(budget / 4); partBytes(p) > budget - 512; max = Math.floor(max / 2)) {
      p.text = cutToBytes(p.text, max) + " …";
      p.html = escapeHtml(p.text).replace(/\n/g, "<br/>");
    }
  }
  return parts;
}

/** Cuts one part (card, edit) to fit, keeping it a single message. */
export function fitOne(part: Part, budget = MAX_CONTENT_BYTES): Part {
  return fitParts(part, { budget, maxParts: 1 })[0]!;
}
