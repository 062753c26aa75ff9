import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { conversationOf, type Turn } from "../../data/index.js";
import { flagHelp, numberFlag, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { chatTemplateFlag, generationFlags, generationOptions, hubOptions, loadFlags } from "../flags.js";
import { noteOnce } from "../output.js";
import { chatReply, type TextGenerationOptions } from "../pipeline/generation.js";
import { useChatTemplateFile } from "../pipeline/lm.js";
import { loadOutput, type LoadedOutput } from "../pipeline/trained.js";
import { readStdinLines } from "../stdin.js";

const { batchSize: _, maxLength: __, ...modelLoadFlags } = loadFlags;
const MAX_NEW_TOKENS = 256;

const flags = {
  ...modelLoadFlags,
  ...chatTemplateFlag,
  system: stringFlag("a system message to start every conversation with", { arg: "TEXT" }),
  ...generationFlags,
  maxNewTokens: numberFlag(`tokens to generate at most per reply (default ${MAX_NEW_TOKENS})`, { integer: true, min: 0 }),
  config: configFlag,
};

export const chat: Command = {
  name: "chat",
  summary: "talk with a causal LM through its chat template, optionally with a trained adapter",
  help: `Usage: finetune chat --model DIR|ID [--adapter DIR] [--system TEXT] [options]

Renders the conversation with the tokenizer's chat template (or --chat-template FILE) and generates the
assistant's reply until the model writes the template's end-of-turn token or eos, a --stop string, or
--max-new-tokens. Greedy by default; --do-sample samples (see finetune generate for the options).

In a terminal it is one conversation: type a message and the reply streams as it is generated; /reset
starts over, /exit or Ctrl-D ends. Otherwise each line of stdin is one conversation: a message, or a JSON
object with "messages" ([{"role", "content"}]) or ShareGPT "conversations" to answer; each reply is printed
as one JSON line: {"input", "reply", "tokens", "finish"} (finish: eos, stop or length).

Options:
${flagHelp(flags)}

Examples:
  finetune chat --model runs/chat-lora
  finetune chat --model ./tiny-qwen --adapter runs/chat-lora --system "You are terse." --do-sample --seed 1
  echo "What is 12 * 7?" | finetune chat --model runs/chat-lora --max-new-tokens 64`,

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, flags);
    if (!v.model) throw new UsageError("--model is required (a causal LM folder, hub id, or adapter folder)");
    const loaded = await loadOutput(v.model, { ...v, batchSize: 1, hub: hubOptions(v), onWarning: noteOnce() });
    if (loaded.task !== "causal-lm") throw new UsageError(`${v.model} is a classifier; use finetune predict`);
    await useChatTemplateFile(loaded.tokenizer, v.chatTemplate);
    if (loaded.tokenizer.chatTemplate === undefined) {
      throw new UsageError(`${v.model}: the tokenizer has no chat template; give one with --chat-template FILE (or use finetune generate)`);
    }
    const session = { loaded, system: v.system, opts: generationOptions(v, MAX_NEW_TOKENS) };
    if (process.stdin.isTTY) await interactiveChat(session, process.stdin, process.stdout);
    else for (const [i, line] of (await readStdinLines()).entries()) console.log(JSON.stringify(await answerLine(session, line, `stdin:${i + 1}`)));
  },
};

export interface ChatSession {
  loaded: Pick<LoadedOutput, "model" | "tokenizer">;
  system?: string;
  opts: TextGenerationOptions;
}

/** One conversation read line by line from `input`, each reply streamed to `output`. */
export async function interactiveChat(session: ChatSession, input: Readable, output: Writable): Promise<void> {
  const start = (): Turn[] => (session.system ? [{ role: "system", content: session.system }] : []);
  let messages = start();
  output.write("> ");
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const text = line.trim();
    if (text === "/exit") break;
    if (text === "/reset") messages = start();
    else if (text !== "") {
      messages.push({ role: "user", content: text });
      const reply = await chatReply(session.loaded.model!, session.loaded.tokenizer, messages, { ...session.opts, onText: (t) => output.write(t) });
      messages.push({ role: "assistant", content: reply.text });
      output.write(reply.finish === "length" ? " [...]\n" : "\n");
    }
    output.write("> ");
  }
  output.write("\n");
}

/** A stdin line: a user message, or a JSON conversation to continue; the reply as a JSON-ready object. */
async function answerLine(session: ChatSession, line: string, where: string): Promise<Record<string, unknown>> {
  let messages: Turn[] | null = null, input: unknown = line;
  if (line.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${where}: invalid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`${where}: expected a JSON object`);
    messages = conversationOf(parsed as Record<string, unknown>, where);
    if (messages === null) throw new UsageError(`${where}: a JSON line needs "messages" or "conversations"`);
    input = messages;
  }
  messages ??= [...(session.system ? [{ role: "system", content: session.system }] : []), { role: "user", content: line }];
  const reply = await chatReply(session.loaded.model!, session.loaded.tokenizer, messages, session.opts);
  return { input, reply: reply.text, tokens: reply.tokens, finish: reply.finish };
}
