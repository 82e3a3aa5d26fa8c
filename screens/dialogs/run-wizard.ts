// The run wizard: project → template → survey variables and run parameters → a confirm dialog naming the
// exact target → start. Every step goes through the operations (resolveRun validates exactly as chat does).
import type { ViewContext } from "../context.js";
import { CONSOLE_ACTOR } from "../context.js";
import type { Project, Template, SurveyVar } from "../../src/semaphore/types.js";
import type { RunRequest, ResolvedRun } from "../../src/core/task-ops.js";
import type { TaskState } from "../../src/core/store.js";
import type { ApprovalRequest } from "../../src/core/approvals.js";
import { userMessage, OperationError } from "../../src/core/operations.js";
import { validateSurvey } from "../../src/core/task-ops.js";
import { tokenize } from "../../src/util/tokenize.js";
import { isSecretVar } from "../../src/core/mask.js";
import type { Modals } from "./dialogs.js";
import { Dialog, SelectDialog, ConfirmDialog, wrapPlain } from "./dialogs.js";
import { LineEditor, type KeyLike } from "../widgets/line-editor.js";
import type { MouseEvent } from "../widgets/input.js";
import { esc, fit, sanitize, truncate, width as strWidth } from "../text.js";
import { tag } from "../theme.js";
import type { Pins } from "../flows/pins.js";

export interface Field {
  name: string;
  label: string;
  kind: "text" | "int" | "enum" | "bool" | "secret";
  required?: boolean;
  help?: string;
  values?: Array<{ name: string; value: string }>;
  editor?: LineEditor;
  bool?: boolean;
  enumIdx?: number;
  /** Survey variable (goes to vars) or a run parameter. */
  survey: boolean;
}

export function fieldsFor(t: Template): Field[] {
  const fields: Field[] = [];
  for (const v of t.survey_vars ?? []) fields.push(surveyField(v));
  const text = (name: string, label: string, help: string): Field => ({ name, label, kind: "text", help, editor: new LineEditor(), survey: false });
  fields.push(text("limit", "Limit hosts", "Comma-separated hosts or groups (--limit)"));
  fields.push(text("tags", "Tags", "Only run tasks with these tags, comma-separated"));
  fields.push(text("skipTags", "Skip tags", "Skip tasks with these tags, comma-separated"));
  if (t.allow_override_branch_in_task) fields.push(text("branch", "Git branch", `Default: ${t.git_branch || "the repository's branch"}`));
  if (t.allow_override_args_in_task)
    fields.push(text("args", "Extra arguments", 'Extra CLI arguments, split as chat splits them: quotes group words (-e "x=1 2")'));
  for (const [name, label, help] of [
    ["dryRun", "Dry run", "--check: report what would change"],
    ["diff", "Diff", "--diff: show changes"],
    ["debug", "Debug", "-vvvv"],
  ] as const) {
    fields.push({ name, label, kind: "bool", bool: false, help, survey: false });
  }
  return fields;
}

function surveyField(v: SurveyVar): Field {
  const kind = v.type === "int" ? "int" : v.type === "enum" ? "enum" : v.type === "secret" ? "secret" : "text";
  // Titles, descriptions and choices come from Semaphore: sanitized for display (values are sent as they are).
  const f: Field = {
    name: v.name,
    label: sanitize(v.title || v.name),
    kind,
    required: v.required,
    help: v.description ? sanitize(v.description) : undefined,
    survey: true,
  };
  if (kind === "enum") {
    f.values = v.values ?? [];
    const def = f.values.findIndex((x) => x.value === v.default_value);
    f.enumIdx = def >= 0 ? def : v.required ? 0 : -1;
  } else {
    f.editor = new LineEditor(v.default_value ?? "");
    f.editor.masked = isSecretVar(v.name, [v]); // secret-typed, or named like a secret (db_password)
  }
  return f;
}

/** Extra arguments as chat reads them: one tokenizer for both front ends. */
function argWords(text: string, label: string): string[] {
  const r = tokenize(text);
  if (!r.ok) throw new OperationError(`${label}: ${r.error}.`, "bad_input");
  return r.tokens;
}

/** The form's answers as a RunRequest (without project and template); throws on extra arguments it cannot split. */
export function requestFrom(fields: Field[]): RunRequest {
  const req: RunRequest = { vars: {} };
  const list = (s: string) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  for (const f of fields) {
    if (f.survey) {
      const v = f.kind === "enum" ? (f.enumIdx !== undefined && f.enumIdx >= 0 ? f.values![f.enumIdx]!.value : "") : f.editor!.value.trim();
      if (v !== "") req.vars![f.name] = v;
      continue;
    }
    const text = f.editor?.value.trim() ?? "";
    switch (f.name) {
      case "limit":
        if (text) req.limit = list(text);
        break;
      case "tags":
        if (text) req.tags = list(text);
        break;
      case "skipTags":
        if (text) req.skipTags = list(text);
        break;
      case "branch":
        if (text) req.branch = text;
        break;
      case "args":
        if (text) req.args = argWords(text, f.label);
        break;
      case "dryRun":
        req.dryRun = !!f.bool;
        break;
      case "diff":
        req.diff = !!f.bool;
        break;
      case "debug":
        req.debug = !!f.bool;
        break;
    }
  }
  return req;
}

type FormResult = { action: "submit"; run: ResolvedRun } | { action: "back" } | { action: "cancel" };

/** The survey and parameter form. Enter checks it with resolveRun; problems are shown and the form stays. */
export class FormDialog extends Dialog<FormResult> {
  focus = 0;
  private error?: string;
  private checking = false;
  private rowOf: number[] = [];

  constructor(
    modals: Modals,
    ctx: ViewContext,
    private readonly template: Template,
    readonly fields: Field[],
    private readonly submit: (req: RunRequest) => Promise<ResolvedRun>,
  ) {
    super(modals, ctx, `Run ${sanitize(template.name)}: survey and parameters`, { action: "cancel" });
  }

  protected preferredWidth(): number {
    return 76;
  }

  protected lines(width: number, maxHeight: number): string[] {
    const t = this.ctx.theme();
    const out: string[] = [];
    const desc = this.template.description ? sanitize(this.template.description) : "";
    if (desc) for (const l of wrapPlain(desc, width).slice(0, 2)) out.push(tag(t.text.dim, esc(l)));
    const survey = this.fields.filter((f) => f.survey).length;
    out.push(tag(t.text.heading, esc(survey ? `Survey (${survey}) and run parameters` : "Run parameters (all optional)")));
    const labelW = Math.min(26, Math.max(...this.fields.map((f) => strWidth(f.label) + (f.required ? 2 : 0))) + 1);
    this.rowOf = [];
    const valueW = Math.max(8, width - labelW - 4);
    this.fields.forEach((f, i) => {
      const on = i === this.focus;
      const label = fit(`${f.label}${f.required ? " *" : ""}`, labelW);
      let value: string;
      if (f.kind === "bool") value = esc(f.bool ? "[x]" : "[ ]");
      else if (f.kind === "enum") {
        const cur = f.enumIdx !== undefined && f.enumIdx >= 0 ? f.values![f.enumIdx]!.name || f.values![f.enumIdx]!.value : "(none)";
        value = `${on ? "‹ " : "  "}${esc(truncate(sanitize(cur), valueW - 4))}${on ? " ›" : ""}`;
      } else
        value = on
          ? f.editor!.render(valueW)
          : esc(truncate(f.editor!.masked ? "•".repeat(f.editor!.value.length) : f.editor!.value, valueW)) || tag(t.text.dim, "·");
      this.rowOf[i] = out.length;
      out.push(`${on ? tag(t.text.key, "›") : " "} ${on ? tag(t.text.title, esc(label)) : esc(label)} ${value}`);
    });
    const f = this.fields[this.focus];
    out.push("");
    out.push(tag(t.text.dim, esc(fit(f?.help ?? "", width))));
    if (this.error) for (const l of wrapPlain(sanitize(this.error), width).slice(0, 4)) out.push(tag(t.text.bad, esc(l)));
    out.push(tag(t.text.dim, esc(fit(this.checking ? "Checking…" : "↑↓/Tab field · Space toggles · ←→ choose · Enter continue · Esc back", width))));
    // Keep the focused row visible on short screens: drop description lines first.
    while (out.length > maxHeight && desc && out[0] !== undefined && !out[0].includes("Survey") && !out[0].includes("Run parameters")) {
      out.shift();
      this.rowOf = this.rowOf.map((r) => r - 1);
    }
    return out;
  }

  hints(): string {
    return "↑↓ field · type to edit · Space toggle · ←→ choose · Enter continue · Esc back";
  }

  key(ch: string | undefined, key: KeyLike): void {
    if (this.checking) return;
    const f = this.fields[this.focus]!;
    const k = key.full;
    switch (k) {
      case "escape":
        this.done({ action: "back" });
        return;
      case "C-c":
        this.done({ action: "cancel" });
        return;
      case "down":
      case "tab":
      case "C-n":
        this.focus = (this.focus + 1) % this.fields.length;
        this.redraw();
        return;
      case "up":
      case "S-tab":
      case "C-p":
        this.focus = (this.focus - 1 + this.fields.length) % this.fields.length;
        this.redraw();
        return;
      case "enter":
        void this.trySubmit();
        return;
    }
    if (f.kind === "bool") {
      if (k === "space" || k === "left" || k === "right" || k === "x") {
        f.bool = !f.bool;
        this.redraw();
      }
      return;
    }
    if (f.kind === "enum") {
      const n = f.values!.length;
      const min = f.required ? 0 : -1;
      if (n && (k === "right" || k === "space" || k === "l")) {
        f.enumIdx = (f.enumIdx ?? min) + 1 > n - 1 ? min : (f.enumIdx ?? min) + 1;
        this.redraw();
      } else if (n && (k === "left" || k === "h")) {
        f.enumIdx = (f.enumIdx ?? min) - 1 < min ? n - 1 : (f.enumIdx ?? min) - 1;
        this.redraw();
      }
      return;
    }
    if (f.editor!.key(ch, key)) {
      this.error = undefined;
      this.redraw();
    }
  }

  override mouse(ev: MouseEvent, _x: number, y: number): void {
    if (ev.action !== "mousedown") return;
    const i = this.rowOf.indexOf(y);
    if (i < 0) return;
    if (this.focus === i && this.fields[i]!.kind === "bool") this.fields[i]!.bool = !this.fields[i]!.bool;
    this.focus = i;
    this.redraw();
  }

  /** The first survey answer the operations would refuse, said with the field's label (not the variable name). */
  private surveyProblem(): { field: Field; problem: string } | undefined {
    const answers = requestFrom(this.fields.filter((f) => f.survey)).vars ?? {};
    for (const field of this.fields.filter((f) => f.survey)) {
      const def = this.template.survey_vars?.find((v) => v.name === field.name);
      const value = answers[field.name];
      if (!def || value === undefined) continue;
      const [problem] = validateSurvey({ [field.name]: value }, [def]).problems;
      if (problem) return { field, problem: `${field.label}${problem.slice(field.name.length)}.` };
    }
    return undefined;
  }

  private async trySubmit(): Promise<void> {
    const missing = this.fields.find((f) => f.required && (f.kind === "enum" ? (f.enumIdx ?? -1) < 0 : !f.editor!.value.trim()));
    if (missing) {
      this.error = `${missing.label} is required.`;
      this.focus = this.fields.indexOf(missing);
      this.redraw();
      return;
    }
    const bad = this.surveyProblem();
    if (bad) {
      this.error = bad.problem;
      this.focus = this.fields.indexOf(bad.field);
      this.redraw();
      return;
    }
    this.checking = true;
    this.error = undefined;
    this.redraw();
    try {
      const run = await this.submit(requestFrom(this.fields));
      this.checking = false;
      this.done({ action: "submit", run });
    } catch (e) {
      this.checking = false;
      this.error = userMessage(e);
      this.redraw();
    }
  }
}

export interface WizardHost {
  modals: Modals;
  ctx: ViewContext;
  say(text: string, level?: "info" | "ok" | "warn" | "error"): void;
  /** A task was started: select it and open its output. */
  started(task: TaskState): void;
  /** Favourite templates: shown first, marked ★; p pins or unpins. */
  pins: Pins;
  /** Starts the run, or opens an approval request when the template needs approvals. */
  launch(run: ResolvedRun): Promise<{ task?: TaskState; request?: ApprovalRequest }>;
  /** The operator said no at the last step: audited like a chat prompt answered no. */
  cancelled(run: ResolvedRun): void;
}

/** Runs the wizard to the end (started, cancelled or failed). */
export async function runWizard(h: WizardHost, preset: { project?: Project } = {}): Promise<TaskState | undefined> {
  const { modals, ctx } = h;
  const ops = ctx.app.ops;
  h.say("Loading projects…");
  let projects: Project[];
  try {
    projects = await ops.tasks.projects(CONSOLE_ACTOR);
  } catch (e) {
    h.say(`Cannot list projects: ${userMessage(e)}`, "error");
    return undefined;
  }
  if (projects.length === 0) {
    h.say("No projects are visible with this Semaphore token.", "warn");
    return undefined;
  }
  h.say("");

  let project = preset.project;
  for (;;) {
    const skipProjects = projects.length === 1;
    if (!project) {
      if (skipProjects) project = projects[0]!;
      else {
        const d = new SelectDialog<Project>(modals, ctx, {
          title: "Run: choose a project (1/3)",
          items: projects,
          key: (p) => String(p.id),
          label: (p) => `${sanitize(p.name)}  (project ${p.id})`,
        });
        modals.push(d);
        project = await d.result;
        if (!project) {
          h.say("Run cancelled.");
          return undefined;
        }
      }
    }
    h.say(`Loading templates of ${project.name}…`);
    let templates: Template[];
    try {
      templates = (await ops.tasks.templates(CONSOLE_ACTOR, String(project.id))).templates;
    } catch (e) {
      h.say(`Cannot list templates: ${userMessage(e)}`, "error");
      return undefined;
    }
    if (templates.length === 0) {
      h.say(`Project ${project.name} has no templates you may run.`, "warn");
      if (skipProjects) return undefined;
      project = undefined;
      continue;
    }
    const pins = h.pins;
    const td = new SelectDialog<Template>(modals, ctx, {
      title: `Run: choose a template in ${sanitize(project.name)} (2/3)`,
      items: pins.first(templates),
      key: (t) => String(t.id),
      extraKey: {
        key: "p",
        hint: "p pin",
        run: (t) => {
          h.say(pins.toggle(t.project_id, t.id) ? `Pinned ${t.name}: it comes first from now on.` : `Unpinned ${t.name}.`);
        },
      },
      label: (t) => {
        const survey = t.survey_vars?.length ? `  · ${t.survey_vars.length} survey var${t.survey_vars.length > 1 ? "s" : ""}` : "";
        return `${pins.has(t.project_id, t.id) ? "★ " : ""}${sanitize(t.name)}  (template ${t.id})${survey}`;
      },
      detail: (t) => sanitize(t.description || `Playbook ${t.playbook || "-"}`),
      escLabel: skipProjects ? "cancel" : "back",
    });
    modals.push(td);
    h.say("");
    const template = await td.result;
    if (!template) {
      if (skipProjects) {
        h.say("Run cancelled.");
        return undefined;
      }
      project = undefined;
      continue;
    }

    const proj = project;
    const form = new FormDialog(modals, ctx, template, fieldsFor(template), (req) =>
      ops.tasks.resolveRun(CONSOLE_ACTOR, { ...req, project: String(proj.id), template: String(template.id) }),
    );
    modals.push(form);
    const res = await form.result;
    if (res.action === "cancel") {
      h.say("Run cancelled; nothing was started.");
      return undefined;
    }
    if (res.action === "back") continue;

    const confirm = new ConfirmDialog(modals, ctx, {
      title: "Run task (3/3)",
      lines: [`Run ${res.run.summary}?`, "", "It starts in Semaphore now, as the console operator (audited as console)."],
      yes: `Run ${truncate(template.name, 30)}`,
    });
    modals.push(confirm);
    if (!(await confirm.result)) {
      h.cancelled(res.run);
      return undefined;
    }
    h.say(`Starting ${template.name}…`);
    try {
      const out = await h.launch(res.run);
      if (out.request) {
        h.say(`${template.name} needs ${out.request.needed} approval(s): request ${out.request.id} is waiting (see Tasks).`, "warn");
        return undefined;
      }
      const task = out.task!;
      h.say(`Started task #${task.taskId}: ${template.name} in ${project.name}.`, "ok");
      h.started(task);
      return task;
    } catch (e) {
      h.say(`Could not start ${template.name}: ${userMessage(e)}`, "error");
      return undefined;
    }
  }
}
