// The HTML-escaping check for everything the bot puts in `formatted_body`, done with a real HTML parser (parse5,
// the WHATWG algorithm browsers and Matrix clients' sanitisers follow) rather than with regular expressions.
//
// A body passes when, parsed as a fragment:
//  - every element is in Matrix's allowed set (client-server API, "m.room.message msgtypes", HTML tags permitted),
//    except <img>: the bot never sends images, so an <img> can only be injected markup;
//  - every attribute is one Matrix allows on that element, href schemes are http(s)/mailto only (no javascript:),
//    code classes are language-*;
//  - no attribute value and no tag carries the fuzzer's canary (CANARY): every tag the fuzzer injects carries it, so
//    an element with it is user input that became markup instead of text;
//  - the tree has no structural parse errors (unclosed or stray tags would make clients guess).
import { parseFragment, type DefaultTreeAdapterMap } from "parse5";

type Node = DefaultTreeAdapterMap["node"];
type Element = DefaultTreeAdapterMap["element"];

/** Put in every tag the fuzzer injects; never produced by the bot itself. */
export const CANARY = "zqx";

export const MATRIX_TAGS = new Set([
  "font",
  "del",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "blockquote",
  "p",
  "a",
  "ul",
  "ol",
  "sup",
  "sub",
  "li",
  "b",
  "i",
  "u",
  "strong",
  "em",
  "s",
  "strike",
  "code",
  "hr",
  "br",
  "div",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "caption",
  "pre",
  "span",
  "img",
  "details",
  "summary",
  "mx-reply",
]);

const MATRIX_ATTRS: Record<string, readonly string[]> = {
  font: ["data-mx-bg-color", "data-mx-color", "color"],
  span: ["data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"],
  div: ["data-mx-maths"],
  a: ["href", "target"],
  img: ["width", "height", "alt", "title", "src"],
  ol: ["start"],
  code: ["class"],
};

/** Parse errors about the input characters (user text may hold NULs, lone surrogates...), not about the markup. */
const INPUT_STREAM_ERRORS = new Set([
  "unexpected-null-character",
  "surrogate-in-input-stream",
  "control-character-in-input-stream",
  "noncharacter-in-input-stream",
  "control-character-reference",
  "noncharacter-character-reference",
  "surrogate-character-reference",
  "null-character-reference",
]);

export interface HtmlCheck {
  problems: string[];
  /** The text content, as a client would show it (br as newline). */
  text: string;
  elements: string[];
}

export function checkFormattedBody(html: string): HtmlCheck {
  const problems: string[] = [];
  const parseErrors: string[] = [];
  const frag = parseFragment(html, {
    onParseError: (e) => {
      if (!INPUT_STREAM_ERRORS.has(e.code)) parseErrors.push(`${e.code} at ${e.startOffset}`);
    },
  });
  const elements: string[] = [];
  const text: string[] = [];
  const visit = (n: Node): void => {
    if (n.nodeName === "#text") {
      text.push((n as DefaultTreeAdapterMap["textNode"]).value);
      return;
    }
    if (n.nodeName === "#comment") {
      problems.push(`a comment <!--${(n as DefaultTreeAdapterMap["commentNode"]).data.slice(0, 40)}-->`);
      return;
    }
    if (!("tagName" in n)) return;
    const el = n as Element;
    const tag = el.tagName;
    elements.push(tag);
    if (tag === "br") text.push("\n");
    if (!MATRIX_TAGS.has(tag)) problems.push(`element <${tag}> is not allowed in Matrix HTML`);
    else if (tag === "img") problems.push("an <img> element (the bot sends no images: injected markup)");
    if (tag.includes(CANARY)) problems.push(`element <${tag}> came from user input`);
    for (const a of el.attrs) {
      const allowed = MATRIX_ATTRS[tag] ?? [];
      if (!allowed.includes(a.name)) problems.push(`attribute ${a.name}="${a.value.slice(0, 40)}" is not allowed on <${tag}>`);
      if (a.value.toLowerCase().includes(CANARY) || a.name.includes(CANARY))
        problems.push(`attribute ${a.name}="${a.value.slice(0, 40)}" on <${tag}> came from user input`);
      if (tag === "a" && a.name === "href" && !/^(https?:|mailto:)/i.test(a.value.trim()))
        problems.push(`href with a forbidden scheme: ${a.value.slice(0, 60)}`);
      if (tag === "code" && a.name === "class" && !/^language-[\w-]+$/.test(a.value)) problems.push(`code class ${a.value.slice(0, 40)}`);
    }
    for (const c of el.childNodes) visit(c);
    // <template> holds its children in .content
    const content = (el as unknown as { content?: { childNodes: Node[] } }).content;
    if (content) for (const c of content.childNodes) visit(c);
  };
  for (const c of frag.childNodes) visit(c);
  if (parseErrors.length) problems.push(`parse errors: ${parseErrors.slice(0, 5).join(", ")}`);
  return { problems, text: text.join(""), elements };
}

/** Every formatted_body of an event content (an edit has one at the top and one in m.new_content). */
export function formattedBodies(content: Record<string, any>): string[] {
  const out: string[] = [];
  if (typeof content.formatted_body === "string") out.push(content.formatted_body);
  const inner = content["m.new_content"];
  if (inner && typeof inner.formatted_body === "string") out.push(inner.formatted_body);
  return out;
}
