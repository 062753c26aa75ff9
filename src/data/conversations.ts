// Conversation rows for instruction tuning, in the two layouts datasets use: `messages` ([{role, content}], as
// OpenAI and TRL write them) and ShareGPT's `conversations` ([{from, value}]), read into one list of turns.

/** One turn; fields other than role and content (tool_calls, name, ...) are kept for the chat template. */
export interface Turn {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** ShareGPT speaker names and the roles chat templates know them by. */
const SHAREGPT_ROLES: Record<string, string> = {
  system: "system", human: "user", user: "user", gpt: "assistant", assistant: "assistant", chatgpt: "assistant",
  tool: "tool", function_call: "assistant", observation: "tool",
};

/** The turns of a row with `messages` or `conversations`, null for a row with neither; a malformed list throws,
 *  naming `where` and the turn. */
export function conversationOf(row: Record<string, unknown>, where: string): Turn[] | null {
  if (row.messages !== undefined) return turns(row.messages, "messages", where, (t, at) => openAiTurn(t, at));
  if (row.conversations !== undefined) return turns(row.conversations, "conversations", where, shareGptTurn);
  return null;
}

function turns(list: unknown, column: string, where: string, read: (t: Record<string, unknown>, at: string) => Turn): Turn[] {
  if (!Array.isArray(list)) throw new Error(`${where}: "${column}" must be a list of turns, got ${typeof list}`);
  return list.map((t, i) => {
    const at = `${where}: ${column}[${i}]`;
    if (typeof t !== "object" || t === null || Array.isArray(t)) throw new Error(`${at} must be an object`);
    return read(t as Record<string, unknown>, at);
  });
}

function openAiTurn(t: Record<string, unknown>, at: string): Turn {
  if (typeof t.role !== "string" || t.role === "") throw new Error(`${at} has no "role"`);
  // An assistant turn that only calls tools has null content, as OpenAI writes it.
  if (!(typeof t.content === "string" || (t.content === null && t.tool_calls !== undefined))) {
    throw new Error(`${at}: "content" must be text, got ${Array.isArray(t.content) ? "a list (multimodal parts are not supported)" : JSON.stringify(t.content)}`);
  }
  return t as Turn;
}

function shareGptTurn(t: Record<string, unknown>, at: string): Turn {
  const role = typeof t.from === "string" ? SHAREGPT_ROLES[t.from] : undefined;
  if (role === undefined) throw new Error(`${at}: "from" must be one of ${Object.keys(SHAREGPT_ROLES).join(", ")}, got ${JSON.stringify(t.from)}`);
  if (typeof t.value !== "string") throw new Error(`${at}: "value" must be text, got ${JSON.stringify(t.value)}`);
  return { role, content: t.value };
}
