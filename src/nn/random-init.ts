// Whether layer constructors draw their random initial values. A model about to be filled from a checkpoint is
// built without them: the draws are wasted work, and the zero-filled tensors they would have written stay
// untouched pages that cost no memory, so a model whose frozen weights are then stored in bf16 never holds the
// float32 copy of them at all (it did: +270 MB peak on DistilBERT-base).
let skipDepth = 0;

export function randomInitSkipped(): boolean {
  return skipDepth > 0;
}

/** Runs `build` with the random initialisers (normal_, uniform_, truncNormal_) leaving tensors as they are. */
export function withoutRandomInit<T>(build: () => T): T {
  skipDepth++;
  try {
    return build();
  } finally {
    skipDepth--;
  }
}
