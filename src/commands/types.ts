import type { Operations, Actor } from "../core/operations.js";
import type { Permission } from "../core/permissions.js";
import type { CommandName } from "../core/command-names.js";

/** A reply in both renderings: plain text for the body and the console, HTML for Matrix formatted_body. */
export interface Reply {
  text: string;
  html?: string;
  /** Optional emoji reaction on the command message (chat only). */
  react?: string;
  /**
   * The reply is about one task or approval request: the chat front end posts it as the live status card (edited in
   * place as things change, output in its thread) instead of a one-off message. Other front ends show text/html.
   */
  card?: { taskKey: string; params?: string } | { requestId: string };
  /** Users to mention (chat: m.mentions and a pill). */
  mentions?: string[];
  /**
   * The command wants the requester's confirmation before acting (run, stop, exit). The front end asks in its
   * own way (chat: a prompt answered by reply or reaction; console: a dialog) and calls `onConfirm` on yes.
   * `text`/`html` above are the prompt.
   */
  confirm?: {
    kind: "run" | "stop" | "exit";
    /** One line naming the exact target, e.g. "Run Deploy web (template 1) in Infrastructure (project 1)". */
    summary: string;
    /** The yes/no question, without how to answer it in chat (front ends add their own); default: summary + "?". */
    question?: string;
    /** What will happen, one line each (e.g. how a stop ends); shown under the question by every front end. */
    details?: string[];
    onConfirm: () => Promise<Reply>;
    onCancel?: () => Promise<void> | void;
    timeoutMs?: number;
  };
}

export type { Permission } from "../core/permissions.js";

export interface CommandContext {
  actor: Actor;
  ops: Operations;
  prefix: string;
  /** The alias the user typed, when the command came from one. */
  alias?: string;
}

/** Each command is declared once; chat parsing, `help`, and the console's `:` completion derive from it. */
export interface CommandSpec {
  name: CommandName;
  /** Argument synopsis for help, e.g. "[project [template]] [--tags a,b]". */
  usage: string;
  summary: string;
  permission: Permission;
  /** Shown by help instead of the permission name, when the command checks more than one permission itself. */
  permissionText?: string;
  /** Not listed by `help` (easter eggs), still shown by `help <name>`. */
  hidden?: boolean;
  /** Completions for the argument at `index`, for the console's Tab. */
  complete?: (ctx: CommandContext, index: number, args: string[]) => Promise<string[]> | string[];
  run(ctx: CommandContext, args: string[]): Promise<Reply>;
}
