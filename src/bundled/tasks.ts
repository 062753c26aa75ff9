// The tasks that ship with finetune-ts, by the name `--dataset bundled:<name>` uses: classification tasks
// (rows {text, label}) for encoders, and instruction tasks (conversations, {messages}) for causal LMs, whose
// chat template and assistant-only loss apply as to any messages dataset.
import type { ChatMessage } from "../tokenizers/index.js";
import { loadSentimentTask, SENTIMENT_LABEL_NAMES } from "./sentiment.js";
import { loadBundledTask, type TaskRow } from "./spam.js";

export interface TaskSplits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

export interface BundledClassificationTask extends TaskSplits<TaskRow> {
  labelNames: string[];
}

/** One conversation: the user's request and the answer the model should give. */
export type Conversation = { messages: ChatMessage[] };

export type BundledTaskData =
  | ({ task: "seq-cls" } & BundledClassificationTask)
  | ({ task: "causal-lm" } & TaskSplits<Conversation>);

export type BundledTaskKind = BundledTaskData["task"];

/** A classification task as conversations: the question and the text in the user's turn, the label's name as the
 *  whole answer, so exact match on the generated reply scores it. The splits stay the classification task's, so
 *  test sentences are held out of training in both forms. */
function asConversations(task: BundledClassificationTask, question: string): TaskSplits<Conversation> {
  const convert = (rows: TaskRow[]) => rows.map((r): Conversation => ({
    messages: [{ role: "user", content: `${question}\n${r.text}` }, { role: "assistant", content: task.labelNames[r.label]! }],
  }));
  return { train: convert(task.train), validation: convert(task.validation), test: convert(task.test) };
}

const SENTIMENT_QUESTION = `Is this review ${SENTIMENT_LABEL_NAMES[1]} or ${SENTIMENT_LABEL_NAMES[0]}?`;

export const BUNDLED_TASKS: Record<string, { task: BundledTaskKind; load: () => BundledTaskData; about: string }> = {
  sentiment: {
    task: "seq-cls", load: () => ({ task: "seq-cls", ...loadSentimentTask() }),
    about: "one-sentence reviews (UCI Sentiment Labelled Sentences, CC BY 4.0): negative / positive",
  },
  spam: { task: "seq-cls", load: () => ({ task: "seq-cls", ...loadBundledTask() }), about: "mail bodies (SpamAssassin public corpus): ham / spam" },
  "sentiment-chat": {
    task: "causal-lm", load: () => ({ task: "causal-lm", ...asConversations(loadSentimentTask(), SENTIMENT_QUESTION) }),
    about: `the sentiment task as instructions for a chat model: "${SENTIMENT_QUESTION}" and a review → "positive" / "negative"`,
  },
};

export const BUNDLED_PREFIX = "bundled:";

/** The task a `bundled:<name>` id names, which must be of the kind the model trains for; an unknown name or a
 *  task of the other kind is an error listing the ones there are. */
export function bundledTask<K extends BundledTaskKind>(id: string, kind: K): Extract<BundledTaskData, { task: K }> {
  const name = id.slice(BUNDLED_PREFIX.length);
  const entry = Object.hasOwn(BUNDLED_TASKS, name) ? BUNDLED_TASKS[name] : undefined;
  const fitting = Object.entries(BUNDLED_TASKS).filter(([, t]) => t.task === kind).map(([n]) => BUNDLED_PREFIX + n).join(", ");
  if (!entry) throw new Error(`--dataset ${id}: no such bundled task; bundled ${kind} tasks: ${fitting}`);
  if (entry.task !== kind) throw new Error(`--dataset ${id} is a ${entry.task} task, but the model trains for ${kind}; bundled ${kind} tasks: ${fitting}`);
  return entry.load() as Extract<BundledTaskData, { task: K }>;
}
