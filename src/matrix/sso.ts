// SSO login for a headless bot: the operator opens the homeserver's SSO URL in a browser and signs in as the bot;
// the browser is then sent to a redirect URL carrying a single-use login token (m.login.token). The token reaches
// the bot either through a loopback HTTP listener ([matrix] sso_callback_listen) or pasted by the operator, as the
// token or the whole redirect URL, in the console or on stdin. Whichever comes first is used.
import { createServer, type Server } from "node:http";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createClient } from "matrix-js-sdk";
import type { ConfigValues } from "../config/schema.js";
import type { Log } from "../log/logger.js";
import { parseListen } from "../http/listen.js";
import { LoginError, loginFlows, type ObtainOptions } from "./login-common.js";

const WAIT_MS = 15 * 60_000;
/** Where the browser is sent when there is no listener: nothing answers there; the operator copies the URL. */
const PASTE_REDIRECT = "http://127.0.0.1/chatrixcd-sso-done";

/** A pasted answer: the redirect URL (its loginToken parameter) or the bare token. */
export function tokenFromPaste(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (/^https?:\/\//i.test(t)) {
    try {
      return new URL(t).searchParams.get("loginToken") ?? undefined;
    } catch {
      return undefined;
    }
  }
  const m = /(?:^|[?&])loginToken=([^&\s]+)/.exec(t);
  if (m) return decodeURIComponent(m[1]!);
  return /^[\w\-.~+/=]{8,}$/.test(t) ? t : undefined;
}

/** Runs the SSO flow and resolves with the login token. */
export async function ssoLoginToken(cfg: ConfigValues["matrix"], log: Log, opts: ObtainOptions): Promise<string> {
  const flows = await loginFlows(cfg.homeserver);
  const sso = flows.find((f) => f.type === "m.login.sso" || f.type === "m.login.cas");
  if (!sso)
    throw new LoginError(
      `The homeserver does not offer SSO login (m.login.sso); it offers ${flows.map((f) => f.type).join(", ") || "nothing"}. Set [matrix] login_method ` +
        `to one of those (password, or access_token).`,
      false,
    );
  const idps = sso.identity_providers ?? [];
  if (cfg.sso_idp && idps.length && !idps.some((p) => p.id === cfg.sso_idp)) {
    throw new LoginError(
      `[matrix] sso_idp = ${cfg.sso_idp} is not one of the homeserver's identity ` +
        `providers: ${idps.map((p) => `${p.id}${p.name ? ` (${p.name})` : ""}`).join(", ")}.`,
      false,
    );
  }
  if (!flows.some((f) => f.type === "m.login.token"))
    throw new LoginError("The homeserver offers SSO but not token login (m.login.token), which SSO needs to finish.", false);
  if (!cfg.sso_callback_listen && !opts.prompt)
    throw new LoginError(
      "SSO login needs a way to receive the login token: run in the console or headless with stdin, or set [matrix] sso_callback_listen.",
      false,
    );

  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  opts.signal?.addEventListener("abort", onOuterAbort);
  let server: Server | undefined;
  try {
    let redirect = PASTE_REDIRECT;
    const got: Array<Promise<string>> = [];
    if (cfg.sso_callback_listen) {
      const l = await startCallbackListener(cfg.sso_callback_listen, ac.signal);
      server = l.server;
      redirect = l.url;
      got.push(l.token);
    }
    const url = createClient({ baseUrl: cfg.homeserver }).getSsoLoginUrl(redirect, sso.type === "m.login.cas" ? "cas" : "sso", cfg.sso_idp || undefined);
    const how = [
      server ? `the browser is sent back to ${redirect}, where the bot picks the token up` : "",
      opts.prompt ? "or paste the login token, or the whole URL the browser ends up on, here" : "",
    ]
      .filter(Boolean)
      .join("; ");
    const message = `SSO login: open this URL in a browser and sign in as ${cfg.user_id || "the bot's account"}; ${how}.`;
    log.warn(`${message} ${url}`);
    if (opts.prompt) {
      got.push(
        (async () => {
          for (;;) {
            const text = await opts.prompt!.ask({ message, url }, ac.signal);
            const token = tokenFromPaste(text);
            if (token) return token;
            log.warn("that is not a login token or a URL with loginToken=…; paste it again");
          }
        })(),
      );
    }
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(
        () => reject(new LoginError(`No SSO login token arrived within ${WAIT_MS / 60_000} minutes; restart to try again.`, false)),
        WAIT_MS,
      );
      t.unref();
      ac.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(new LoginError("SSO login cancelled.", false));
      });
    });
    const token = await Promise.race([...got, timeout]);
    opts.redact?.(token);
    return token;
  } finally {
    ac.abort();
    opts.signal?.removeEventListener("abort", onOuterAbort);
    server?.close();
    server?.closeAllConnections?.();
  }
}

async function startCallbackListener(listen: string, signal: AbortSignal): Promise<{ server: Server; url: string; token: Promise<string> }> {
  const addr = parseListen(listen);
  if ("error" in addr) throw new LoginError(`[matrix] sso_callback_listen: ${addr.error}`, false);
  let deliver!: (t: string) => void;
  const token = new Promise<string>((r) => {
    deliver = r;
  });
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://callback");
    const t = u.searchParams.get("loginToken");
    if (u.pathname !== "/sso-callback" || !t) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not the ChatrixCD SSO callback.\n");
      return;
    }
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end("<!doctype html><title>ChatrixCD</title><p>ChatrixCD is signed in. You can close this tab.</p>\n");
    deliver(t);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(new LoginError(`[matrix] sso_callback_listen ${listen}: cannot listen (${(e as NodeJS.ErrnoException).code ?? e.message}).`, false)),
    );
    server.listen(addr.port, addr.host, () => resolve());
  });
  signal.addEventListener("abort", () => server.close());
  const a = server.address();
  const port = typeof a === "object" && a ? a.port : addr.port;
  const host = addr.host.includes(":") ? `[${addr.host}]` : addr.host;
  return { server, url: `http://${host}:${port}/sso-callback`, token };
}

/**
 * Headless: lines typed on stdin answer a waiting login prompt. Returns a function that stops reading.
 * `answer` returns false when no login is waiting (the line is then ignored).
 */
export function readLoginAnswers(input: Readable, answer: (line: string) => boolean): () => void {
  const rl = createInterface({ input, terminal: false });
  rl.on("line", (line) => {
    if (line.trim()) answer(line);
  });
  return () => rl.close();
}
