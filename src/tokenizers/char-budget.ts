// Texts are cut to a character budget before they reach the Rust tokenizer, which tokenizes a whole text before it
// truncates: a 5 MB text tokenized for 16 tokens took 1.9 GB. Real tokens average 3-5 characters and the longest
// vocabulary entries a few dozen, so CHARS_PER_TOKEN characters per kept token leave several times more tokens than
// are kept; PreTrainedTokenizer.fitToTokenBudget checks that on the cut text and widens the cut when it is not so.
import type { Side } from "./padding-truncation.js";

export const CHARS_PER_TOKEN = 32;

/** The characters kept of a text that will be truncated to `maxTokens` tokens. */
export function charBudget(maxTokens: number): number {
  return maxTokens * CHARS_PER_TOKEN + 1024;
}

/** `text` cut to at most `chars` UTF-16 units on `side` (the side truncation removes), never inside a surrogate pair. */
export function cutToChars(text: string, chars: number, side: Side): string {
  if (text.length <= chars) return text;
  if (side === "right") {
    const end = isLowSurrogate(text.charCodeAt(chars)) ? chars - 1 : chars;
    return text.slice(0, end);
  }
  const start = text.length - chars;
  return text.slice(isLowSurrogate(text.charCodeAt(start)) ? start + 1 : start);
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
