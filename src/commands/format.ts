// Shared presentation for command replies: escaped HTML building blocks, status icons, durations, task lines.
import { escapeHtml } from "../util/html.js";
import { formatDuration } from "../util/text.js";
import type { Reply } from "./types.js";
import type { TaskState } from "../core/store.js";

export { escapeHtml };

export const STATUS_ICON: Record<string, string> = {
  waiting: "⏳",
  starting: "🔄",
  waiting_confirmation: "⏸️",
  confirmed: "👍",
  rejected: "🚫",
  running: "🔄",
  stopping: "⏹️",
  stopped: "🛑",
  success: "✅",
  error: "❌",
};
export const statusIcon = (s: string): string => STATUS_ICON[s] ?? "❓";

export const STATUS_COLOR: Record<string, string> = {
  success: "#4e9a06",
  error: "#cc0000",
  stopped: "#cc0000",
  rejected: "#cc0000",
  running: "#3465a4",
  starting: "#3465a4",
  waiting: "#c4a000",
  waiting_confirmation: "#c4a000",
  stopping: "#c4a000",
  confirmed: "#3465a4",
};

export const statusLabel = (s: string): string => s.replace(/_/g, " ");

/** `<font>`-free colouring: Matrix clients honour data-mx-color on span. */
export const colored = (text: string, color: string | undefined): string =>
  color ? `<span data-mx-color="${color}">${escapeHtml(text)}</span>` : escapeHtml(text);

export const code = (s: string): string => `<code>${escapeHtml(s)}</code>`;

/** Plain reply with the HTML being the escaped text (newlines as <br/>). */
export function plain(text: string, extra: Partial<Reply> = {}): Reply {
  return { text, html: escapeHtml(text).replace(/\n/g, "<br/>"), ...extra };
}

/** A table: cells are escaped here unless marked as HTML with {html}. */
export type Cell = string | number | { html: string; text?: string };
export function table(headers: string[], rows: Cell[][]): string {
  const cell = (c: Cell) => (typeof c === "object" ? c.html : escapeHtml(String(c)));
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
export const cellText = (c: Cell): string => (typeof c === "object" ? (c.text ?? c.html.replace(/<[^>]+>/g, "")) : String(c));

export function elapsed(t: Pick<TaskState, "start" | "end" | "created">, now = Date.now()): string | undefined {
  const from = t.start ?? t.created;
  if (!from) return undefined;
  const a = Date.parse(from);
  const b = t.end ? Date.parse(t.end) : now;
  return Number.isFinite(a) && Number.isFinite(b) ? formatDuration(Math.max(0, b - a)) : undefined;
}

export function taskName(t: Pick<TaskState, "templateName" | "templateId" | "taskId">): string {
  return `${t.templateName ?? (t.templateId !== undefined ? `template ${t.templateId}` : "task")} #${t.taskId}`;
}

/** Link to the task in Semaphore's web UI. */
export function taskUrl(webUrl: string | undefined, projectId: number, taskId: number): string | undefined {
  return webUrl ? `${webUrl.replace(/\/+$/, "")}/project/${projectId}/history?t=${taskId}` : undefined;
}

export const mxLink = (userId: string): string => `<a href="https://matrix.to/#/${encodeURIComponent(userId)}">${escapeHtml(userId)}</a>`;

/** "a, b and c". */
export function joinAnd(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
