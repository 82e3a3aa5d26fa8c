// The status card of a task (or of a run waiting for approval): one message, re-rendered on every change. Pure
// functions of the state, so the chat card, `status` and tests all show the same thing. Every string that comes from
// a user or a server is escaped.
import type { TaskState } from "../core/store.js";
import type { ApprovalRequest } from "../core/approvals.js";
import { recapTotals } from "../semaphore/ansible.js";
import { isTaskDone } from "../semaphore/types.js";
import { escapeHtml, statusIcon, statusLabel, STATUS_COLOR, colored, elapsed, taskUrl, joinAnd } from "./format.js";
import { formatDuration } from "../util/text.js";
import { maskText } from "../core/mask.js";

export interface CardInput {
  task?: TaskState;
  request?: ApprovalRequest;
  /** Approvers still awaited (for requests). */
  waitingOn?: string[];
  /** One line of resolved parameters ("tags web, env=prod"). */
  params?: string;
  webUrl?: string;
  prefix?: string;
  now?: number;
  /** Room id → display name, for "from where". */
  roomName?: (roomId: string) => string | undefined;
  /** Shown at the bottom (e.g. where the output goes). */
  footer?: string;
}

export interface Rendered {
  text: string;
  html: string;
}

const RECAP_ORDER = ["ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"];
const MAX_FIELD = 200;
const clip = (s: string, n = MAX_FIELD) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function origin(t: TaskState, roomName?: (id: string) => string | undefined): string | undefined {
  const o = t.origin;
  // Runs the bot starts always carry their origin; a task without one was started in Semaphore itself.
  if (!o) return "Semaphore (web UI, schedule or integration)";
  if (o.via === "chat") return `${o.user ?? "someone"}${o.roomId ? ` in ${roomName?.(o.roomId) ?? o.roomId}` : ""}`;
  if (o.via === "console") return `${o.user ?? "the operator"} at the console`;
  return o.user ? `${o.user} in Semaphore` : "Semaphore (web UI, schedule or integration)";
}

export function recapLine(t: Pick<TaskState, "recap">): string | undefined {
  if (!t.recap) return undefined;
  const totals = recapTotals(t.recap);
  const keys = RECAP_ORDER.filter((k) => k in totals || k === "failed" || k === "unreachable").concat(
    Object.keys(totals).filter((k) => !RECAP_ORDER.includes(k)),
  );
  const hosts = Object.keys(t.recap).length;
  return `${keys.map((k) => `${k} ${totals[k] ?? 0}`).join(" · ")}${hosts ? ` (${hosts} host${hosts === 1 ? "" : "s"})` : ""}`;
}

export function renderTaskCard(input: CardInput): Rendered {
  const t = input.task!;
  const now = input.now ?? Date.now();
  const name = clip(t.templateName ?? (t.templateId !== undefined ? `template ${t.templateId}` : "task"));
  const status = String(t.status);
  const text: string[] = [];
  const html: string[] = [];
  const head = `${statusIcon(status)} ${name} #${t.taskId}: ${statusLabel(status)}`;
  text.push(head);
  html.push(`${statusIcon(status)} <b>${escapeHtml(name)}</b> #${t.taskId}: ${colored(statusLabel(status), STATUS_COLOR[status])}`);
  const where = [t.projectName ? clip(t.projectName) : `project ${t.projectId}`];
  const from = origin(t, input.roomName);
  if (from) where.push(`started by ${clip(from)}`);
  const el = elapsed(t, now);
  if (el && status !== "waiting") where.push(isTaskDone(t) ? `took ${el}` : `${el} so far`);
  text.push(where.join(" · "));
  html.push(escapeHtml(where.join(" · ")));
  // Parameters come masked from the core; masked again here for cards saved by an older version.
  const params = input.params && clip(maskText(input.params), 400);
  if (params) {
    text.push(`Parameters: ${params}`);
    html.push(`Parameters: <code>${escapeHtml(params)}</code>`);
  }
  if (!isTaskDone(t) && (t.currentPlay || t.currentTask)) {
    const parts = [t.currentPlay ? `play ${clip(t.currentPlay, 120)}` : "", t.currentTask ? `task ${clip(t.currentTask, 120)}` : ""].filter(Boolean);
    text.push(`▶ ${parts.join(" › ")}`);
    html.push(`▶ ${parts.map((p) => escapeHtml(p)).join(" › ")}`);
  }
  const recap = recapLine(t);
  if (recap) {
    text.push(`Recap: ${recap}`);
    const red = (m: string, _k: string, n: string) => (Number(n) > 0 ? `<span data-mx-color="#cc0000">${m}</span>` : m);
    html.push(`Recap: ${escapeHtml(recap).replace(/\b(failed|unreachable) (\d+)/g, red)}`);
  }
  if (status === "waiting_confirmation") {
    const p = input.prefix ?? "!cd";
    text.push(`Semaphore waits for a confirmation: ${p} confirm ${t.taskId} or ${p} reject ${t.taskId}`);
    html.push(
      `Semaphore waits for a confirmation: <code>${escapeHtml(`${p} confirm ${t.taskId}`)}</code> or <code>${escapeHtml(`${p} reject ${t.taskId}`)}</code>`,
    );
  }
  const url = taskUrl(input.webUrl, t.projectId, t.taskId);
  if (url) {
    text.push(`Open in Semaphore: ${url}`);
    html.push(`<a href="${escapeHtml(url)}">Open in Semaphore</a>`);
  }
  if (input.footer) {
    text.push(input.footer);
    html.push(`<i>${escapeHtml(input.footer)}</i>`);
  }
  return { text: text.join("\n"), html: html.join("<br/>") };
}

export function renderRequestCard(input: CardInput): Rendered {
  const r = input.request!;
  const now = input.now ?? Date.now();
  const p = input.prefix ?? "!cd";
  const tpl = clip(r.run.template.name);
  const count = `${r.approvals.length}/${r.needed} approval${r.needed === 1 ? "" : "s"}`;
  const statusText: Record<string, string> = {
    pending: `waiting for approval (${count})`,
    approved: `approved (${count}), about to start`,
    starting: `approved (${count}), starting`,
    started: `approved (${count}), started as task ${r.taskId}`,
    denied: `denied by ${r.deniedBy}${r.reason ? `: ${clip(r.reason)}` : ""}`,
    expired: `expired with ${count}; nothing ran`,
    failed: `approved, but starting it failed: ${clip(r.error ?? "unknown error", 300)}`,
  };
  const going = r.status === "started" || r.status === "starting" || r.status === "approved";
  const icon = r.status === "pending" ? "🗳️" : going ? "🚀" : r.status === "denied" ? "🚫" : r.status === "expired" ? "⌛" : "❌";
  const text: string[] = [`${icon} ${tpl} (request ${r.id}): ${statusText[r.status]}`];
  const html: string[] = [`${icon} <b>${escapeHtml(tpl)}</b> (request ${escapeHtml(r.id)}): ${escapeHtml(statusText[r.status] ?? r.status)}`];
  const line2 = `${clip(r.run.project.name)} · requested by ${r.requester}${r.roomId ? ` in ${input.roomName?.(r.roomId) ?? r.roomId}` : ""}`;
  text.push(line2);
  html.push(escapeHtml(line2));
  const summary = clip(maskText(r.run.summary), 600);
  text.push(`Run: ${summary}`);
  html.push(`Run: <code>${escapeHtml(summary)}</code>`);
  if (r.approvals.length) {
    const a = `Approved by ${joinAnd(r.approvals.map((x) => x.user))}`;
    text.push(a);
    html.push(escapeHtml(a));
  }
  if (r.status === "pending") {
    const waiting = input.waitingOn ?? [];
    const who = waiting.length ? `waiting on ${joinAnd(waiting)}` : "waiting on anyone with approve permission here";
    const left = `${who} · expires in ${formatDuration(Math.max(0, r.expiresAt - now))}`;
    text.push(left);
    html.push(escapeHtml(left));
    const how = `Approve: ${p} approve ${r.id} or react 👍 · Deny: ${p} deny ${r.id} or react 👎 · Nobody approves their own run.`;
    text.push(how);
    html.push(
      `Approve: <code>${escapeHtml(`${p} approve ${r.id}`)}</code> or react 👍 · Deny: <code>${escapeHtml(`${p} deny ${r.id}`)}</code> or react 👎 · ` +
        `Nobody approves their own run.`,
    );
  }
  return { text: text.join("\n"), html: html.join("<br/>") };
}
