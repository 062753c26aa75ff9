// Chat templates as transformers applies them: the Jinja template from tokenizer_config.json's `chat_template`
// (a string, or a list of named templates) or from a `chat_template.jinja` file, rendered with Hugging Face's own
// JS Jinja (@huggingface/jinja, what transformers.js uses) with messages, add_generation_prompt, tools, documents,
// the tokenizer's special tokens and any extra template variables.
//
// Assistant tokens are found by rendering, not by looking for token patterns: an assistant turn starts where the
// conversation before it, rendered with the generation prompt, ends (the prompt the model sees when it answers),
// and ends where the conversation up to and including it, rendered alone, stops agreeing with the whole. Turns a
// template renders differently on their own (one that moves the system message into the last user turn, or that
// rewrites earlier turns) cannot be located that way; they are reported, never guessed at.
import { Template } from "@huggingface/jinja";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JsonObject } from "./config.js";

/** One turn of a conversation; templates may read more fields (tool_calls, reasoning_content, ...). */
export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** A template, or named templates ("default", "tool_use", ...) as tokenizer_config.json may list them. */
export type ChatTemplateSource = string | Record<string, string>;

export interface ChatTemplateOptions {
  /** End the text with the header of an assistant turn, ready for the model to answer. Default false. */
  addGenerationPrompt?: boolean;
  /** A template (its text, or the name of one of the tokenizer's named templates) instead of the default. */
  chatTemplate?: string;
  /** Tool (function) schemas, for templates that render them; transformers passes None when there are none. */
  tools?: unknown[];
  documents?: unknown[];
  /** Further template variables (transformers' **kwargs), e.g. `{ date_string: "26 Jul 2024" }`. */
  templateKwargs?: Record<string, unknown>;
}

export const CHAT_TEMPLATE_FILE = "chat_template.jinja";

/** The tokenizer folder's template: chat_template.jinja wins over tokenizer_config.json, as in transformers.
 *  `dir` is null for a tokenizer read from a single file (a GGUF), whose config carries its template. */
export async function readChatTemplate(dir: string | null, config: JsonObject, configFile: string): Promise<ChatTemplateSource | undefined> {
  const text = dir === null ? undefined : await readFile(join(dir, CHAT_TEMPLATE_FILE), "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text !== undefined) return text;
  return parseConfigTemplate(config.chat_template, configFile);
}

function parseConfigTemplate(value: unknown, where: string): ChatTemplateSource | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  const named = Array.isArray(value) ? value : null;
  const bad = named?.find((t) => typeof t?.name !== "string" || typeof t?.template !== "string");
  if (!named || bad !== undefined) {
    throw new Error(`${where}: chat_template must be a string or a list of {"name", "template"}, got ${JSON.stringify(bad ?? value).slice(0, 80)}`);
  }
  return Object.fromEntries(named.map((t: { name: string; template: string }) => [t.name, t.template]));
}

/** How tokenizer_config.json stores a template. */
export function configTemplateValue(source: ChatTemplateSource): unknown {
  return typeof source === "string" ? source : Object.entries(source).map(([name, template]) => ({ name, template }));
}

/** The template text to render, chosen as transformers chooses: an explicit one, then "tool_use" when tools are
 *  given and the tokenizer has it, then "default". */
export function selectTemplate(source: ChatTemplateSource | undefined, opts: ChatTemplateOptions): string {
  const named = typeof source === "object" ? source : undefined;
  if (opts.chatTemplate !== undefined) return named?.[opts.chatTemplate] ?? opts.chatTemplate;
  if (source === undefined) {
    throw new Error("the tokenizer has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); " +
      "give one (--chat-template FILE, or tokenizer.chatTemplate = ...)");
  }
  if (typeof source === "string") return source;
  if (opts.tools && named!.tool_use !== undefined) return named!.tool_use;
  if (named!.default !== undefined) return named!.default;
  throw new Error(`the tokenizer has several chat templates (${Object.keys(source).join(", ")}) and none named "default"; pick one with chatTemplate`);
}

const compiled = new Map<string, Template>();

function compile(template: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`cannot parse the chat template: ${(e as Error).message}`);
    }
    compiled.set(template, t);
  }
  return t;
}

/** Renders `template` for `messages`; `specialTokens` are the bos_token, eos_token, ... variables. */
export function renderChatTemplate(template: string, messages: readonly ChatMessage[], specialTokens: Record<string, unknown>,
  opts: ChatTemplateOptions = {}): string {
  const vars = {
    ...specialTokens,
    ...opts.templateKwargs,
    messages,
    tools: opts.tools ?? null,
    documents: opts.documents ?? null,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
  };
  try {
    return compile(template).render(vars);
  } catch (e) {
    throw new Error(`chat template: ${(e as Error).message}`);
  }
}

/** Character spans [start, end) of the text; `unlocated` lists the assistant messages whose turn was not found. */
export interface AssistantSpans {
  text: string;
  /** One per located assistant message, in order: where its turn starts (after the generation prompt) and the end
   *  of the longest part the rendering of the conversation up to it shares with the whole. */
  spans: { message: number; start: number; end: number }[];
  unlocated: number[];
}

/** Where each assistant turn of `messages` is in their rendering (see the top of this file). */
export function assistantSpans(messages: readonly ChatMessage[], render: (messages: readonly ChatMessage[], generationPrompt: boolean) => string): AssistantSpans {
  const text = render(messages, false);
  const out: AssistantSpans = { text, spans: [], unlocated: [] };
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return;
    let prompt: string, upTo: string;
    try {
      prompt = render(messages.slice(0, i), true);
      upTo = render(messages.slice(0, i + 1), false);
    } catch {
      // Templates may refuse a conversation cut short (one that opens with an assistant turn, say).
      out.unlocated.push(i);
      return;
    }
    const end = commonPrefixLength(upTo, text);
    if (!text.startsWith(prompt) || end <= prompt.length) out.unlocated.push(i);
    else out.spans.push({ message: i, start: prompt.length, end });
  });
  return out;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Token ranges [first, last] of character spans. A turn starts at the token holding its first character (as
 * transformers' char_to_token) and ends at the last token lying wholly inside the span, then gives back trailing
 * whitespace-only tokens (the newline a template puts between turns): the end-of-turn token closes the turn.
 * null where a span holds no token.
 */
export function spansToTokens(text: string, offsets: readonly (readonly [number, number])[],
  spans: readonly { start: number; end: number }[]): ({ first: number; last: number } | null)[] {
  return spans.map(({ start, end }) => {
    let first = 0;
    while (first < offsets.length && offsets[first][1] <= start) first++;
    let last = first - 1;
    while (last + 1 < offsets.length && offsets[last + 1][1] <= end) last++;
    while (last >= first && text.slice(offsets[last][0], offsets[last][1]).trim() === "") last--;
    return last >= first ? { first, last } : null;
  });
}

const PROBE: ChatMessage[] = [{ role: "user", content: "Hello" }, { role: "assistant", content: "Hi there" }];

/**
 * What the template writes after an assistant's text to close the turn ("<|im_end|>", "<|eot_id|>", "<|end|>\n" +
 * eos, ...), trimmed; found by rendering a one-exchange conversation. "" when it writes nothing (then a model cannot
 * learn where a reply ends), null when the probe cannot be rendered or located.
 */
export function chatTurnEnd(render: (messages: readonly ChatMessage[], generationPrompt: boolean) => string): string | null {
  let prompt: string, whole: string;
  try {
    prompt = render(PROBE.slice(0, 1), true);
    whole = render(PROBE, false);
  } catch {
    return null;
  }
  if (!whole.startsWith(prompt)) return null;
  const rest = whole.slice(prompt.length);
  const at = rest.indexOf(PROBE[1]!.content);
  return at < 0 ? null : rest.slice(at + PROBE[1]!.content.length).trim();
}
