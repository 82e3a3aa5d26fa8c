// Colours, by meaning. Views ask for "the colour of a failed task", never for "red", so the light and mono
// themes only change this file. Values are blessed tags ("{red-fg}") and blessed style colours.

export type ThemeName = "dark" | "light" | "mono";

export interface Theme {
  name: ThemeName;
  /** Panel border, unfocused and focused. */
  border: string;
  borderFocus: string;
  /** Header bar. */
  barFg: string;
  barBg: string;
  /** Header background when `[console] environment` is production. */
  productionBg: string;
  /** Open tags for text roles. Each is closed with "{/}" by `tag()`. */
  text: {
    title: string;
    dim: string;
    key: string;
    ok: string;
    warn: string;
    bad: string;
    info: string;
    accent: string;
    selected: string;
    selectedDim: string;
    match: string;
    heading: string;
  };
  /** Task status → open tag. */
  status: Record<string, string>;
  level: Record<"debug" | "info" | "warn" | "error", string>;
}

const dark: Theme = {
  name: "dark",
  border: "#5f87af",
  borderFocus: "yellow",
  barFg: "white",
  barBg: "#1c1c1c",
  productionBg: "#870000",
  text: {
    title: "{bold}",
    dim: "{#8a8a8a-fg}",
    key: "{bold}{#87d7ff-fg}",
    ok: "{#5fd75f-fg}",
    warn: "{#ffd75f-fg}",
    bad: "{#ff5f5f-fg}",
    info: "{#87afff-fg}",
    accent: "{#d7afff-fg}",
    selected: "{#ffffff-fg}{#005f87-bg}",
    selectedDim: "{#ffffff-fg}{#3a3a3a-bg}",
    match: "{black-fg}{#ffd75f-bg}",
    heading: "{bold}{#afafaf-fg}",
  },
  status: {
    waiting: "{#d7d787-fg}",
    starting: "{#87d7ff-fg}",
    running: "{bold}{#5fafff-fg}",
    waiting_confirmation: "{bold}{#ffaf00-fg}",
    confirmed: "{#87d7ff-fg}",
    rejected: "{#ff8787-fg}",
    stopping: "{#ffaf5f-fg}",
    stopped: "{#bcbcbc-fg}",
    success: "{#5fd75f-fg}",
    error: "{bold}{#ff5f5f-fg}",
    approval: "{bold}{#ffaf00-fg}",
  },
  level: { debug: "{#808080-fg}", info: "{#87afff-fg}", warn: "{#ffd75f-fg}", error: "{bold}{#ff5f5f-fg}" },
};

const light: Theme = {
  ...dark,
  name: "light",
  border: "#5f87af",
  borderFocus: "#d75f00",
  barFg: "black",
  barBg: "#d0d0d0",
  text: {
    title: "{bold}",
    dim: "{#6c6c6c-fg}",
    key: "{bold}{#005faf-fg}",
    ok: "{#008700-fg}",
    warn: "{#af5f00-fg}",
    bad: "{#d70000-fg}",
    info: "{#005faf-fg}",
    accent: "{#8700af-fg}",
    selected: "{#ffffff-fg}{#005faf-bg}",
    selectedDim: "{black-fg}{#bcbcbc-bg}",
    match: "{black-fg}{#ffd700-bg}",
    heading: "{bold}{#444444-fg}",
  },
  status: {
    waiting: "{#875f00-fg}",
    starting: "{#005f87-fg}",
    running: "{bold}{#005fd7-fg}",
    waiting_confirmation: "{bold}{#d75f00-fg}",
    confirmed: "{#005f87-fg}",
    rejected: "{#af0000-fg}",
    stopping: "{#d75f00-fg}",
    stopped: "{#585858-fg}",
    success: "{#008700-fg}",
    error: "{bold}{#d70000-fg}",
    approval: "{bold}{#d75f00-fg}",
  },
  level: { debug: "{#808080-fg}", info: "{#005faf-fg}", warn: "{#af5f00-fg}", error: "{bold}{#d70000-fg}" },
};

/** No colour at all: bold, underline and inverse carry the meaning (NO_COLOR, 8-colour consoles, screen readers). */
const mono: Theme = {
  name: "mono",
  border: "default",
  borderFocus: "default",
  barFg: "default",
  barBg: "default",
  productionBg: "default", // the environment's name in bold says it
  text: {
    title: "{bold}",
    dim: "",
    key: "{bold}",
    ok: "",
    warn: "{bold}",
    bad: "{bold}",
    info: "",
    accent: "{underline}",
    selected: "{inverse}",
    selectedDim: "{underline}",
    match: "{inverse}",
    heading: "{bold}",
  },
  status: {
    waiting: "",
    starting: "",
    running: "{bold}",
    waiting_confirmation: "{bold}{underline}",
    confirmed: "",
    rejected: "{underline}",
    stopping: "{underline}",
    stopped: "",
    success: "",
    error: "{bold}{underline}",
    approval: "{bold}{underline}",
  },
  level: { debug: "", info: "", warn: "{bold}", error: "{bold}{underline}" },
};

export function theme(name: string | undefined): Theme {
  if (process.env.NO_COLOR) return mono;
  return name === "light" ? light : name === "mono" ? mono : dark;
}

/** The closing tags for an opening tag string: "{bold}{red-fg}" → "{/red-fg}{/bold}". */
const closeCache = new Map<string, string>();
export function closeTag(open: string): string {
  let c = closeCache.get(open);
  if (c === undefined) {
    const names = [...open.matchAll(/\{([^/{}][^{}]*)\}/g)].map((m) => m[1]!);
    c = names
      .reverse()
      .map((n) => `{/${n}}`)
      .join("");
    closeCache.set(open, c);
  }
  return c;
}

/** Wraps already-escaped text in an open tag and its exact closes, so it nests inside a row's colours. */
export function tag(open: string, text: string): string {
  return open ? `${open}${text}${closeTag(open)}` : text;
}
