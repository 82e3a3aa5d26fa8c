import { request } from "node:http";

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request (no keep-alive, 5 s timeout): for scraping the bot's /healthz and /metrics in tests. */
export function httpRequest(url: string, method = "GET"): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.end();
  });
}
