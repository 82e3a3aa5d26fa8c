// Typed client for the Semaphore UI REST API (reference: semaphore-api.md), working against v2.10 through current.
//
// Transport rules:
//  * at most `maxConcurrent` requests in flight (a small FIFO semaphore); the timeout runs per attempt, from the
//    moment the request is sent until the whole body is read;
//  * GET/HEAD are retried on unreachable / timeout / 5xx / not_json (not on TLS failures or redirects) with
//    exponential back-off and jitter, all within one timeout's worth of time; POSTs are never retried (a timed-out
//    POST may have been carried out);
//  * redirects are not followed (a POST turned into a GET by a 301 would be silently wrong): they are reported;
//  * an empty body with a JSON content-type is normal (204, most 4xx); an HTML page is reported as not_json;
//  * every body is read as a stream with a cap by kind (REPLY_LIMITS); a declared or actual size over the cap stops the
//    read at once and is a too_large error, never retried. Task output is split into lines as it streams.
// The API token is only ever put in the Authorization header; errors, warnings and onRequest never carry it.

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import fetch from "node-fetch";
import type { Readable } from "node:stream";
import { BodyTooLarge, JsonArraySplitter, readCapped, readCappedText, type Chunks } from "./body.js";
import { NO_ROUTE, SemaphoreError, isTlsErrorCode, type SemaphoreErrorKind } from "./errors.js";
import {
  normalizeInfo,
  normalizeList,
  normalizeProject,
  normalizeTask,
  normalizeTaskOutput,
  normalizeTaskWithTpl,
  normalizeTemplate,
  normalizeUser,
  type Info,
  type Project,
  type Task,
  type TaskOutput,
  type TaskWithTpl,
  type Template,
  type User,
} from "./types.js";

export interface RequestInfo {
  method: string;
  /** API path relative to the base URL, e.g. "/api/project/1/tasks/last?limit=5". */
  path: string;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** Duration of this attempt in milliseconds (queue wait excluded). */
  ms: number;
  /** Error kind when the attempt failed. */
  error?: SemaphoreErrorKind;
  /** 0 for the first attempt, 1.. for retries. */
  attempt: number;
}

const MiB = 1024 * 1024;

/**
 * The most ChatrixCD reads of one Semaphore reply, by kind. A task list of 1000 tasks is about 2 MiB and a long
 * Ansible log a few MiB, so these leave room for real servers while a runaway reply cannot exhaust memory.
 */
export const REPLY_LIMITS = { json: 16 * MiB, output: 64 * MiB } as const;
export type ReplyKind = keyof typeof REPLY_LIMITS;

export interface SemaphoreClientOptions {
  /** Base URL of Semaphore (the part before /api); may carry a path prefix and a trailing slash. */
  url: string;
  token: string;
  /** Per-attempt timeout. Default 15000. */
  timeoutMs?: number;
  /** Requests in flight at once. Default 4. */
  maxConcurrent?: number;
  /** Extra attempts for idempotent requests (GET/HEAD). Default 3. */
  retries?: number;
  /** First back-off delay; attempt n waits about retryDelayMs·2^n (±50 % jitter). Default 200. */
  retryDelayMs?: number;
  /** PEM file with extra CA certificates (added to Node's default roots). */
  caFile?: string;
  /** Verify the server certificate. Default true. */
  tlsVerify?: boolean;
  /** Called after every attempt, for metrics and logging. Never receives the token. */
  onRequest?: (info: RequestInfo) => void;
  /** Called with one-line warnings the operator should see (e.g. an unrecognised server version). */
  onWarning?: (message: string) => void;
  /** Smaller caps than REPLY_LIMITS (tests). */
  replyLimits?: Partial<Record<ReplyKind, number>>;
  /** Instead of node-fetch over the network: the emulator's in-process handler (tests, without sockets). */
  fetch?: FetchLike;
}

/** The part of fetch the client uses; node-fetch's by default. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal; redirect: "manual"; agent: (u: URL) => http.Agent },
) => Promise<{ status: number; headers: { get(name: string): string | null }; body: Chunks | null }>;

/** How the start-task body carries Ansible options: v2.10 flat fields, or the later `params` object. */
export type ApiShape = "flat" | "params";

export interface StartTaskRequest {
  templateId: number;
  /** Ansible -vvvv. */
  debug?: boolean;
  /** Ansible --check. */
  dryRun?: boolean;
  /** Ansible --diff. */
  diff?: boolean;
  /** Hosts/groups for --limit. */
  limit?: string[];
  tags?: string[];
  skipTags?: string[];
  /** Extra CLI arguments; Semaphore only uses them when the template allows overriding args. */
  extraArgs?: string[];
  /** Extra variables (survey answers). Merged with the template's environment, which wins on a clash. */
  environment?: Record<string, string | number>;
  gitBranch?: string;
  /** Free-text note shown in Semaphore's history. */
  message?: string;
  inventoryId?: number;
  /** Ansible only: overrides the template's playbook. */
  playbook?: string;
}

export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
  /** Whatever followed the numbers ("beta", "31-gd4a2713", "75ffe9c-1742166024"), or "". */
  suffix: string;
  raw: string;
}

/** Parses "v2.10.32-31-gd4a2713", "2.16.14", "v2.17.0-beta", "2.13.0-75ffe9c-1742166024"; null if unrecognised. */
export function parseSemaphoreVersion(version: string): ServerVersion | null {
  const m = /^\s*v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:[-+.~ ](.*))?\s*$/i.exec(version);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] !== undefined ? Number(m[3]) : 0, suffix: m[4] ?? "", raw: version };
}

/** The start-task body shape a server of this version understands; null when the version is unrecognised. */
export function apiShapeForVersion(version: string): ApiShape | null {
  const v = parseSemaphoreVersion(version);
  if (!v) return null;
  return v.major > 2 || (v.major === 2 && v.minor >= 11) ? "params" : "flat";
}

function cleanList(xs: string[] | undefined): string[] {
  return (xs ?? []).map((x) => String(x).trim()).filter((x) => x !== "");
}

/**
 * The JSON body of POST /api/project/{id}/tasks for a given shape.
 *  flat (v2.10 and older): debug/dry_run/diff flat, limit as a comma string, tags/skip-tags as `--tags=`/`--skip-tags=`
 *    entries of `arguments` (which Semaphore only honours when the template has allow_override_args_in_task);
 *  params (later): a `params` object {debug, dry_run, diff, limit[], tags[], skip_tags[]} plus the flat `limit` alias.
 * In both, `environment` and `arguments` are JSON *strings* (an object resp. an array of strings).
 */
export function buildStartTaskBody(req: StartTaskRequest, shape: ApiShape): Record<string, unknown> {
  const body: Record<string, unknown> = { template_id: req.templateId };
  const limit = cleanList(req.limit);
  const tags = cleanList(req.tags);
  const skipTags = cleanList(req.skipTags);
  const args = (req.extraArgs ?? []).map(String);
  if (shape === "flat") {
    body.debug = !!req.debug;
    body.dry_run = !!req.dryRun;
    body.diff = !!req.diff;
    if (tags.length) args.unshift(`--tags=${tags.join(",")}`);
    if (skipTags.length) args.splice(tags.length ? 1 : 0, 0, `--skip-tags=${skipTags.join(",")}`);
  } else {
    const params: Record<string, unknown> = { debug: !!req.debug, dry_run: !!req.dryRun, diff: !!req.diff };
    if (limit.length) params.limit = limit;
    if (tags.length) params.tags = tags;
    if (skipTags.length) params.skip_tags = skipTags;
    body.params = params;
  }
  if (limit.length) body.limit = limit.join(",");
  if (req.environment && Object.keys(req.environment).length) body.environment = JSON.stringify(req.environment);
  if (args.length) body.arguments = JSON.stringify(args);
  if (req.gitBranch) body.git_branch = req.gitBranch;
  if (req.message) body.message = req.message;
  if (req.inventoryId !== undefined) body.inventory_id = req.inventoryId;
  if (req.playbook) body.playbook = req.playbook;
  return body;
}

/** FIFO counting semaphore. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async acquire(): Promise<() => void> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // hand the slot over; `active` stays the same
      else this.active--;
    };
  }
}

type Expect = "json" | "none" | "text";

interface RequestOpts {
  body?: unknown;
  expect: Expect;
  auth?: boolean;
  /** Which size cap applies to the reply. Default "json". */
  reply?: ReplyKind;
  /** A JSON list read element by element as it streams: each element goes through `item` (with `what[i]`). */
  list?: { item: (raw: unknown, what: string) => unknown; what: string };
  /** Instead of [semaphore] timeout (a short liveness probe). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isPositiveId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

export class SemaphoreClient {
  /** Base URL as shown to people: origin + path prefix, no credentials, no trailing slash. */
  readonly baseUrl: string;
  private token: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly limiter: Limiter;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly ca: Array<string | Buffer> | undefined;
  private readonly tlsVerify: boolean;
  private readonly onRequest: ((info: RequestInfo) => void) | undefined;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly replyLimits: Record<ReplyKind, number>;
  private readonly fetch: FetchLike;
  private shape: { shape: ApiShape; version: string } | undefined;
  private shapeProbe: Promise<ApiShape> | undefined;
  private warnedVersion = false;

  constructor(opts: SemaphoreClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new Error(`[semaphore] url is not a valid URL: ${JSON.stringify(String(opts.url).replace(/\/\/[^/@]*@/, "//"))}`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`[semaphore] url must start with http:// or https:// (got ${u.protocol})`);
    if (u.username || u.password) throw new Error("[semaphore] url must not contain user:password@ (authentication is the API token)");
    this.baseUrl = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
    this.token = String(opts.token ?? "").trim(); // token files usually end with a newline
    this.timeoutMs = positive(opts.timeoutMs, 15000, "timeoutMs");
    this.retries = Math.max(0, Math.floor(opts.retries ?? 3));
    this.retryDelayMs = Math.max(0, opts.retryDelayMs ?? 200);
    const maxConcurrent = Math.floor(positive(opts.maxConcurrent, 4, "maxConcurrent"));
    this.limiter = new Limiter(maxConcurrent);
    this.tlsVerify = opts.tlsVerify ?? true;
    if (opts.caFile) {
      let pem: Buffer;
      try {
        pem = fs.readFileSync(opts.caFile);
      } catch (e) {
        throw new Error(`Cannot read [semaphore] ca_file ${opts.caFile}: ${(e as Error).message}`);
      }
      this.ca = [...tls.rootCertificates, pem];
    }
    this.httpAgent = new http.Agent({ keepAlive: true });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: this.tlsVerify,
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.onRequest = opts.onRequest;
    this.onWarning = opts.onWarning;
    const cap = (kind: ReplyKind) => Math.min(REPLY_LIMITS[kind], opts.replyLimits?.[kind] ?? Infinity);
    this.replyLimits = { json: cap("json"), output: cap("output") };
    this.fetch = opts.fetch ?? fetch;
  }

  // -------------------------------------------------------------------------------------------------------------
  // System

  /** GET /api/ping (no auth). Resolves with the round-trip time in ms; throws if the answer isn't "pong". */
  async ping(opts: { timeoutMs?: number } = {}): Promise<number> {
    const t0 = performance.now();
    const text = (await this.request("GET", "/api/ping", { expect: "text", auth: false, timeoutMs: opts.timeoutMs })) as string;
    if (text.trim().toLowerCase() !== "pong") {
      throw new SemaphoreError({
        kind: "bad_reply",
        method: "GET",
        path: "/api/ping",
        detail: `expected "pong"`,
        serverMessage: this.scrub(text.trim().slice(0, 60)),
      });
    }
    return Math.round(performance.now() - t0);
  }

  async info(): Promise<Info> {
    return this.getJson("/api/info", normalizeInfo);
  }

  /** A new API token (config reload): later requests and websocket upgrades use it. */
  setToken(token: string): void {
    this.token = String(token ?? "").trim();
  }

  /** The user the token belongs to. */
  async user(): Promise<User> {
    return this.getJson("/api/user", normalizeUser);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Projects and their resources

  async projects(): Promise<Project[]> {
    return this.getJson("/api/projects", (raw) => normalizeList(raw, normalizeProject, "project"));
  }

  async project(projectId: number): Promise<Project> {
    return this.getJson(this.p(projectId), normalizeProject);
  }

  async templates(projectId: number): Promise<Template[]> {
    return this.getJson(`${this.p(projectId)}/templates`, (raw) => normalizeList(raw, normalizeTemplate, "template"));
  }

  async template(projectId: number, templateId: number): Promise<Template> {
    return this.getJson(`${this.p(projectId)}/templates/${this.id(templateId, "template")}`, normalizeTemplate);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Tasks

  /** Every task of a project (the History view's source: one request per project). */
  async tasks(projectId: number): Promise<TaskWithTpl[]> {
    return this.getJson(`${this.p(projectId)}/tasks`, taskList);
  }

  /** The most recent tasks (server caps at 200; `limit` is clamped to 1..200). */
  async lastTasks(projectId: number, limit?: number): Promise<TaskWithTpl[]> {
    return this.getJson(`${this.p(projectId)}/tasks/last${limitQuery(limit)}`, taskList);
  }

  async task(projectId: number, taskId: number): Promise<Task> {
    return this.getJson(`${this.p(projectId)}/tasks/${this.id(taskId, "task")}`, normalizeTask);
  }

  /** The whole log, oldest line first. Read line by line as it streams, up to REPLY_LIMITS.output. */
  async taskOutput(projectId: number, taskId: number): Promise<TaskOutput[]> {
    const path = `${this.p(projectId)}/tasks/${this.id(taskId, "task")}/output`;
    const list = { item: normalizeTaskOutput, what: "output" };
    return (await this.request("GET", path, { expect: "json", reply: "output", list })) as TaskOutput[];
  }

  /**
   * Starts a task (POST, never retried). The body shape follows the server version (see apiShape()). When the body
   * carries CLI `arguments` (extraArgs, or tags/skip-tags on v2.10), the template is checked first: Semaphore ignores
   * task arguments silently unless the template allows them, so that case throws kind "unsupported" instead of
   * running the playbook without the requested restriction.
   */
  async startTask(projectId: number, req: StartTaskRequest): Promise<Task> {
    const path = `${this.p(projectId)}/tasks`;
    this.id(req.templateId, "template");
    if (req.inventoryId !== undefined) this.id(req.inventoryId, "inventory");
    const shape = await this.apiShape();
    const body = buildStartTaskBody(req, shape);
    if (body.arguments !== undefined) {
      const tpl = await this.template(projectId, req.templateId);
      if (!tpl.allow_override_args_in_task) {
        const what =
          shape === "flat" && (cleanList(req.tags).length || cleanList(req.skipTags).length)
            ? "tags/skip-tags and extra arguments (this Semaphore version passes tags as CLI arguments)"
            : "extra CLI arguments";
        throw new SemaphoreError({
          kind: "unsupported",
          method: "POST",
          path,
          detail: "template does not allow overriding CLI args",
          userText:
            `Template "${tpl.name}" doesn't accept ${what}; Semaphore would silently ignore them. Enable ` +
            `"allow CLI args in task" (allow_override_args_in_task) on the template, or run without them.`,
        });
      }
    }
    try {
      return this.decode("POST", path, await this.request("POST", path, { body, expect: "json" }), normalizeTask);
    } catch (e) {
      this.forgetServerVersion(); // the server may have been upgraded or replaced; look again next time
      throw e;
    }
  }

  /** Stops a task; `force` kills it and ends as `stopped` (a graceful stop of a running task ends as `error`). */
  async stopTask(projectId: number, taskId: number, force = false): Promise<void> {
    await this.request("POST", `${this.p(projectId)}/tasks/${this.id(taskId, "task")}/stop`, { body: force ? { force: true } : {}, expect: "none" });
  }

  /** Confirms a task in `waiting_confirmation` (Terraform/OpenTofu plan → apply). */
  async confirmTask(projectId: number, taskId: number): Promise<void> {
    await this.request("POST", `${this.p(projectId)}/tasks/${this.id(taskId, "task")}/confirm`, { body: {}, expect: "none" });
  }

  /** Rejects a task in `waiting_confirmation`. Servers up to v2.10 have no such route: kind "unsupported". */
  async rejectTask(projectId: number, taskId: number): Promise<void> {
    const path = `${this.p(projectId)}/tasks/${this.id(taskId, "task")}/reject`;
    try {
      await this.request("POST", path, { body: {}, expect: "none" });
    } catch (e) {
      if (!(e instanceof SemaphoreError) || e.status === undefined) throw e;
      const noRoute = e.status === 405 || e.status === 501 || (e.status === 404 && e.detail === NO_ROUTE);
      let version: string | undefined;
      let old = false;
      if (!noRoute && (e.status === 404 || e.status === 400)) {
        try {
          await this.apiShape();
          version = this.shape?.version;
          old = version !== undefined && apiShapeForVersion(version) === "flat";
        } catch {
          // can't tell; report the original error
        }
      }
      if (noRoute || old) {
        version ??= this.shape?.version;
        throw new SemaphoreError({
          kind: "unsupported",
          method: "POST",
          path,
          status: e.status,
          detail: "no reject route",
          cause: e,
          userText:
            `This Semaphore server${version ? ` (${version})` : ""} can't reject tasks — ` +
            `that arrived after v2.10. Stop the task instead, or upgrade Semaphore.`,
        });
      }
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Version and websocket helpers

  /**
   * "flat" for v2.10.x and older (and for versions that can't be parsed, with a one-time warning), "params" for
   * later ones. Asked from /api/info once per client and cached; forgotten after a failed start or a transport
   * failure so an upgraded server is noticed.
   */
  async apiShape(): Promise<ApiShape> {
    if (this.shape) return this.shape.shape;
    this.shapeProbe ??= this.probeShape().finally(() => {
      this.shapeProbe = undefined;
    });
    return this.shapeProbe;
  }

  /** Drops the cached server version; the next start asks /api/info again. */
  forgetServerVersion(): void {
    this.shape = undefined;
  }

  /** ws(s)://host[/prefix]/api/ws — connect with authHeaders() (and tlsOptions() for wss). */
  websocketUrl(): string {
    return `${this.baseUrl.replace(/^http/, "ws")}/api/ws`;
  }

  /** Headers that authenticate a websocket upgrade (or any other request) as the bot. Contains the token. */
  authHeaders(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}` };
  }

  /** TLS settings for a wss:// connection, matching the REST client's (ws's ClientOptions accept these). */
  tlsOptions(): { rejectUnauthorized: boolean; ca?: Array<string | Buffer> } {
    return { rejectUnauthorized: this.tlsVerify, ...(this.ca ? { ca: this.ca } : {}) };
  }

  /** Closes idle keep-alive connections. The client stays usable (new connections are opened on demand). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  private async probeShape(): Promise<ApiShape> {
    let version: string;
    try {
      version = (await this.info()).version;
    } catch (e) {
      if (e instanceof SemaphoreError && ["unreachable", "timeout", "unauthorized", "server", "not_json"].includes(e.kind)) throw e;
      this.warnOnce(
        `Could not read Semaphore's version from /api/info ` +
          `(${e instanceof SemaphoreError ? e.userMessage() : String(e)}); sending task ` +
          `options in the v2.10 form.`,
      );
      return "flat"; // not cached: ask again next time
    }
    const shape = apiShapeForVersion(version);
    if (shape === null) {
      this.warnOnce(
        `Semaphore reports version ${JSON.stringify(version.slice(0, 60))}, which ChatrixCD doesn't ` +
          `recognise; sending task options in the v2.10 form (tags/skip-tags as CLI arguments).`,
      );
    }
    this.shape = { shape: shape ?? "flat", version };
    return this.shape.shape;
  }

  private warnOnce(message: string): void {
    if (this.warnedVersion) return;
    this.warnedVersion = true;
    try {
      this.onWarning?.(message);
    } catch {
      // a logging callback must not break requests
    }
  }

  private p(projectId: number): string {
    return `/api/project/${this.id(projectId, "project")}`;
  }

  private id(v: number, what: string): number {
    if (!isPositiveId(v)) {
      throw new SemaphoreError({
        kind: "bad_request",
        method: "",
        path: "",
        detail: `invalid ${what} id`,
        userText: `Invalid ${what} id ${JSON.stringify(String(v)).slice(0, 30)}: ids are positive whole numbers.`,
      });
    }
    return v;
  }

  private async getJson<T>(path: string, normalize: (raw: unknown) => T): Promise<T> {
    return this.decode("GET", path, await this.request("GET", path, { expect: "json" }), normalize);
  }

  private decode<T>(method: string, path: string, raw: unknown, normalize: (raw: unknown) => T): T {
    try {
      return normalize(raw);
    } catch (e) {
      if (e instanceof SemaphoreError && !e.path) throw e.withRequest(method, path);
      throw e;
    }
  }

  private async request(method: string, path: string, opts: RequestOpts): Promise<unknown> {
    const idempotent = method === "GET" || method === "HEAD";
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(method, path, opts, attempt);
      } catch (e) {
        if (e instanceof SemaphoreError && ["unreachable", "timeout", "server", "not_json"].includes(e.kind)) this.forgetServerVersion();
        if (!(idempotent && attempt < this.retries && e instanceof SemaphoreError && e.retryable)) throw e;
        const base = this.retryDelayMs * 2 ** attempt;
        const delay = base / 2 + Math.random() * base;
        // Retries fit in one timeout's worth of time, so someone waiting in chat hears back within about
        // [semaphore] timeout: quick failures (refused, 502) are retried, a slow server is not asked again.
        if (performance.now() - started + delay >= (opts.timeoutMs ?? this.timeoutMs)) throw e;
        await sleep(delay);
      }
    }
  }

  private async attempt(method: string, path: string, opts: RequestOpts, attempt: number): Promise<unknown> {
    const release = await this.limiter.acquire();
    const t0 = performance.now();
    let status: number | undefined;
    let failure: SemaphoreErrorKind | undefined;
    const ac = new AbortController();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "ChatrixCD" };
      if (opts.auth !== false) headers.Authorization = `Bearer ${this.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers["Content-Type"] = "application/json";
      }
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await this.fetch(this.baseUrl + path, {
          method,
          headers,
          body,
          signal: ac.signal,
          redirect: "manual",
          agent: (u: URL) => (u.protocol === "https:" ? this.httpsAgent : this.httpAgent),
        });
      } catch (e) {
        throw this.transportError(e, method, path, ac.signal.aborted, timeoutMs);
      }
      status = res.status;
      const contentType = res.headers.get("content-type") ?? "";
      const limit = this.replyLimits[opts.reply ?? "json"];
      let read: { items: unknown[] } | { text: string };
      try {
        if (Number(res.headers.get("content-length")) > limit) throw new BodyTooLarge(limit);
        const stream = res.body ?? [];
        const streamList = opts.list && status >= 200 && status < 300 && !/html/i.test(contentType);
        read = streamList ? await readList(stream, limit, opts.list!) : { text: await readCappedText(stream, limit) };
      } catch (e) {
        if (e instanceof BodyTooLarge || e instanceof SyntaxError || e instanceof SemaphoreError) {
          (res.body as Partial<Readable> | null)?.destroy?.(); // stop reading: the rest of the reply is never downloaded
          ac.abort();
        }
        if (e instanceof BodyTooLarge) {
          throw new SemaphoreError({ kind: "too_large", method, path, status, limitBytes: e.limitBytes, detail: `reply larger than ${e.limitBytes} bytes` });
        }
        if (e instanceof SyntaxError) throw new SemaphoreError({ kind: "not_json", method, path, status, detail: "invalid JSON" });
        if (e instanceof SemaphoreError) throw e.path ? e : e.withRequest(method, path);
        throw this.transportError(e, method, path, ac.signal.aborted);
      }
      if ("items" in read) return read.items;
      const raw = this.interpret(method, path, status, contentType, res.headers.get("location"), read.text, opts.expect);
      return opts.list ? this.decode(method, path, raw, (r) => normalizeList(r, opts.list!.item, opts.list!.what)) : raw;
    } catch (e) {
      failure = e instanceof SemaphoreError ? e.kind : "unreachable";
      throw e;
    } finally {
      clearTimeout(timer);
      release();
      if (this.onRequest) {
        const info: RequestInfo = { method, path, ms: Math.round(performance.now() - t0), attempt };
        if (status !== undefined) info.status = status;
        if (failure !== undefined) info.error = failure;
        try {
          this.onRequest(info);
        } catch {
          // metrics must not break requests
        }
      }
    }
  }

  private transportError(e: unknown, method: string, path: string, aborted: boolean, timeoutMs = this.timeoutMs): SemaphoreError {
    const err = e as { name?: string; code?: string; errno?: string; message?: string; cause?: { code?: string } };
    if (aborted || err?.name === "AbortError") {
      return new SemaphoreError({ kind: "timeout", method, path, timeoutMs, target: this.baseUrl });
    }
    const code = err?.code ?? err?.cause?.code ?? (typeof err?.errno === "string" ? err.errno : undefined);
    const reason = /reason: (.*)$/.exec(err?.message ?? "")?.[1];
    const detail = code ?? (reason ? this.scrub(reason).slice(0, 100) : "network error");
    return new SemaphoreError({
      kind: "unreachable",
      method,
      path,
      detail,
      target: this.baseUrl,
      retryable: !isTlsErrorCode(code),
      cause: e,
    });
  }

  private interpret(method: string, path: string, status: number, contentType: string, location: string | null, text: string, expect: Expect): unknown {
    const ct = contentType.toLowerCase();
    const isHtml = ct.includes("text/html") || /^\s*<(!doctype|html|head|body)\b/i.test(text);
    if (status >= 300 && status < 400) {
      const where = location ? this.scrub(location.replace(/\/\/[^/@]*@/, "//")).slice(0, 120) : undefined;
      return this.fail({ kind: "not_json", method, path, status, detail: "redirect", ...(where ? { serverMessage: where } : {}) });
    }
    if (isHtml) {
      const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
      const snippet = (title ?? text.replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim().slice(0, 80);
      return this.fail({ kind: "not_json", method, path, status, detail: "html", ...(snippet ? { serverMessage: this.scrub(snippet) } : {}) });
    }
    if (status >= 400) {
      const kind: SemaphoreErrorKind =
        status === 401
          ? "unauthorized"
          : status === 403
            ? "forbidden"
            : status === 404
              ? "not_found"
              : status === 408
                ? "timeout"
                : status >= 500
                  ? "server"
                  : "bad_request";
      const trimmed = text.trim();
      let serverMessage: string | undefined;
      let detail: string | undefined;
      if (trimmed) {
        const parsed = tryJson(trimmed);
        if (parsed.ok) {
          const m = parsed.value !== null && typeof parsed.value === "object" ? (parsed.value as Record<string, unknown>).error : undefined;
          if (typeof m === "string" && m.trim()) serverMessage = m.trim().slice(0, 300);
        } else {
          serverMessage = trimmed.split("\n")[0]!.slice(0, 120);
          if (status === 404 && !ct.includes("json")) detail = NO_ROUTE;
        }
      }
      return this.fail({
        kind,
        method,
        path,
        status,
        ...(detail ? { detail } : {}),
        ...(serverMessage ? { serverMessage: this.scrub(serverMessage) } : {}),
        ...(kind === "timeout" ? { timeoutMs: this.timeoutMs } : {}),
      });
    }
    if (expect === "none") return undefined;
    if (expect === "text") return text;
    if (text.trim() === "") return this.fail({ kind: "bad_reply", method, path, status, detail: "empty reply where JSON was expected" });
    const parsed = tryJson(text);
    if (!parsed.ok) {
      return this.fail({ kind: "not_json", method, path, status, detail: "invalid JSON", serverMessage: this.scrub(text.trim().slice(0, 60)) });
    }
    return parsed.value;
  }

  private fail(init: ConstructorParameters<typeof SemaphoreError>[0]): never {
    throw new SemaphoreError(init);
  }

  /** Removes the token from text the server sent back (Semaphore lower-cases tokens, so match case-insensitively). */
  private scrub(text: string): string {
    if (this.token.length < 4) return text;
    const re = new RegExp(this.token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
    return text.replace(re, "‹redacted›");
  }
}

/**
 * A JSON list read element by element: each element is parsed and normalised as soon as its text is complete, so
 * the raw text of the whole list is never held. A body that is not a JSON array comes back as text (interpret()
 * then reports it as it would any other reply).
 */
async function readList(body: Chunks, limit: number, list: NonNullable<RequestOpts["list"]>): Promise<{ items: unknown[] } | { text: string }> {
  const splitter = new JsonArraySplitter();
  const items: unknown[] = [];
  const rest: string[] = [];
  await readCapped(body, limit, (text) => {
    if (!splitter.notArray) for (const element of splitter.feed(text)) items.push(list.item(JSON.parse(element), `${list.what}[${items.length}]`));
    if (splitter.notArray) rest.push(text);
  });
  if (splitter.notArray) return { text: rest.join("") };
  splitter.end();
  return { items };
}

function taskList(raw: unknown): TaskWithTpl[] {
  return normalizeList(raw, normalizeTaskWithTpl, "task");
}

function limitQuery(limit: number | undefined): string {
  if (limit === undefined) return "";
  const n = Number.isFinite(limit) ? Math.min(200, Math.max(1, Math.floor(limit))) : 200;
  return `?limit=${n}`;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`SemaphoreClient: ${name} must be a positive number`);
  return v;
}
