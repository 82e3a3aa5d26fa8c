// Fault injection for client tests: slow replies, a proxy's HTML 502 page, 200 with a body that is not JSON,
// refused websocket upgrades, dropped websockets.

export interface Faults {
  /** Every HTTP reply is delayed by `ms` (the request is processed at once; only the answer is late). */
  setLatency(ms: number): void;
  /** Every /api reply (websocket upgrades included) is a proxy's HTML 502 page; the request never reaches the API. */
  setHtml502(on: boolean): void;
  /** Every /api reply but /api/ping is 200 with a truncated, non-JSON body; the request never reaches the API. */
  setInvalidJson(on: boolean): void;
  /** Websocket upgrades are refused with this status (null: accepted again). */
  refuseWebsocket(status: number | null): void;
  /** Close every websocket connection abruptly (socket destroyed, no close frame: clients see 1006). */
  dropWebsockets(): void;
}

export class FaultState {
  latencyMs = 0;
  html502 = false;
  invalidJson = false;
  wsRefuseStatus: number | null = null;
}

export const HTML_502 = [
  "<html>",
  "<head><title>502 Bad Gateway</title></head>",
  "<body>",
  "<center><h1>502 Bad Gateway</h1></center>",
  "<hr><center>nginx/1.24.0</center>",
  "</body>",
  "</html>",
  "",
].join("\r\n");

/** What a truncated JSON reply looks like: valid prefix, cut in the middle of a value. */
export const INVALID_JSON_BODY = '{"id":1,"name":"Infrastructure","created":"2026-11-26T16:4';
