#!/usr/bin/env python3
"""The PyTorch side of `npm run bench -- train --compare-torch`.

A DistilBERT-base-sized sequence classifier (vocab 30522, dim 768, 6 layers, 12 heads, FFN 3072, 2 labels,
random weights) written in plain PyTorch with the structure and numerics of transformers'
DistilBertForSequenceClassification (eager attention), and the PEFT methods bench/train-case.ts times, so
both sides do the same work per case:

  inference  forward in eval mode under torch.no_grad()
  full       forward + backward + AdamW, every weight trains
  head       only pre_classifier and classifier train
  lora       LoRA r=8, alpha 16, dropout 0.05 on q_lin and v_lin; the heads train too (PEFT's SEQ_CLS
             modules_to_save, whose "classifier" suffix also matches pre_classifier)
  prompt     prompt tuning, 20 virtual tokens in front of the input embeddings, + heads
  prefix     prefix tuning, 20 virtual tokens as every layer's past keys and values (no projection), + heads

Needs only torch (Debian: apt-get install python3-torch). Usage:

  python3 bench/torch/train_bench.py [--modes inference,full,...] [--batch 8] [--seq 128] [--steps 5]
                                     [--warmup 1] [--threads 2] [--dropout on|off]

One line per mode, then, as the last line, one JSON object: {"results": {mode: {"median_s", "min_s", ...}}, ...}.
`--about` prints only {"torch": version, "blas": library, "reference_blas": bool}. Without torch the script
exits with status 3 (bench/train.ts then times finetune-ts alone).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as e:
    print(f"train_bench.py: PyTorch not found ({e})", file=sys.stderr)
    sys.exit(3)

VOCAB, DIM, LAYERS, HEADS, FFN_DIM, LABELS, MAX_POSITIONS = 30522, 768, 6, 12, 3072, 2, 512
HEAD_DIM = DIM // HEADS
VIRTUAL_TOKENS, LORA_RANK, LORA_ALPHA = 20, 8, 16
MODES = ("inference", "full", "head", "lora", "prompt", "prefix")
LN_EPS = 1e-12  # DistilBERT's, in every LayerNorm


class Attention(nn.Module):
    def __init__(self, dropout: float):
        super().__init__()
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(DIM, DIM) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, masked, past=None):
        batch, length, _ = x.shape

        def heads(t):
            return t.view(batch, -1, HEADS, HEAD_DIM).transpose(1, 2)

        q = heads(self.q_lin(x)) / math.sqrt(HEAD_DIM)
        k, v = heads(self.k_lin(x)), heads(self.v_lin(x))
        if past is not None:  # prefix tuning: the virtual tokens' keys and values come first
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        scores = (q @ k.transpose(2, 3)).masked_fill(masked, torch.finfo(q.dtype).min)
        context = self.dropout(scores.softmax(-1)) @ v
        return self.out_lin(context.transpose(1, 2).reshape(batch, length, DIM))


class Block(nn.Module):
    """Post-norm: LayerNorm(x + attention), then LayerNorm(that + FFN)."""

    def __init__(self, dropout: float, attention_dropout: float):
        super().__init__()
        self.attention = Attention(attention_dropout)
        self.sa_layer_norm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.lin1, self.lin2 = nn.Linear(DIM, FFN_DIM), nn.Linear(FFN_DIM, DIM)
        self.dropout = nn.Dropout(dropout)
        self.output_layer_norm = nn.LayerNorm(DIM, eps=LN_EPS)

    def forward(self, x, masked, past=None):
        sa = self.sa_layer_norm(self.attention(x, masked, past) + x)
        return self.output_layer_norm(self.dropout(self.lin2(F.gelu(self.lin1(sa)))) + sa)


class DistilBertClassifier(nn.Module):
    def __init__(self, dropout: bool):
        super().__init__()
        p, attention_p, head_p = (0.1, 0.1, 0.2) if dropout else (0.0, 0.0, 0.0)
        self.word_embeddings = nn.Embedding(VOCAB, DIM, padding_idx=0)
        self.position_embeddings = nn.Embedding(MAX_POSITIONS, DIM)
        self.embeddings_norm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.embeddings_dropout = nn.Dropout(p)
        self.layers = nn.ModuleList(Block(p, attention_p) for _ in range(LAYERS))
        self.pre_classifier = nn.Linear(DIM, DIM)
        self.classifier = nn.Linear(DIM, LABELS)
        self.head_dropout = nn.Dropout(head_p)
        self.apply(init_weights)

    def forward(self, mask, labels, ids=None, embeds=None, past=None):
        """ids or embeds [batch, seq]; mask covers past + seq; past: per layer (key, value) [batch, heads, n, head_dim]."""
        words = self.word_embeddings(ids) if embeds is None else embeds
        start = 0 if past is None else past[0][0].shape[2]  # positions continue after the past, as in BERT
        positions = self.position_embeddings(torch.arange(start, start + words.shape[1]))
        h = self.embeddings_dropout(self.embeddings_norm(words + positions))
        masked = (mask == 0)[:, None, None, :]
        for i, layer in enumerate(self.layers):
            h = layer(h, masked, None if past is None else past[i])
        logits = self.classifier(self.head_dropout(F.relu(self.pre_classifier(h[:, 0]))))
        return F.cross_entropy(logits, labels)


def init_weights(m: nn.Module) -> None:
    """transformers' _init_weights for DistilBERT: N(0, 0.02) weights, zero biases and padding row."""
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.bias)
    if isinstance(m, nn.Embedding) and m.padding_idx is not None:
        with torch.no_grad():
            m.weight[m.padding_idx].zero_()


class LoraLinear(nn.Module):
    """PEFT's LoRA layer: base(x) + B(A(dropout(x))) * alpha / r; A kaiming-uniform, B zero."""

    def __init__(self, base: nn.Linear, dropout: float, rank: int = LORA_RANK, alpha: float = LORA_ALPHA):
        super().__init__()
        self.base_layer = base
        self.lora_dropout = nn.Dropout(dropout)
        self.lora_A = nn.Linear(base.in_features, rank, bias=False)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling


class PromptLearning(nn.Module):
    """PEFT's prompt-learning forward for SEQ_CLS. The virtual tokens are rows of a trainable table (N(0, 1),
    nn.Embedding's init, as PEFT's random init): prompt tuning puts them in front of the word embeddings,
    prefix tuning reads each row as every layer's key and value. Either way the mask gains 20 ones in front."""

    def __init__(self, model: DistilBertClassifier, kind: str):
        super().__init__()
        self.model, self.kind = model, kind
        self.embedding = nn.Embedding(VIRTUAL_TOKENS, DIM if kind == "prompt" else LAYERS * 2 * DIM)

    def forward(self, mask, labels, ids):
        batch = ids.shape[0]
        table = self.embedding(torch.arange(VIRTUAL_TOKENS).expand(batch, -1))
        mask = torch.cat([mask.new_ones(batch, VIRTUAL_TOKENS), mask], 1)
        if self.kind == "prompt":
            embeds = torch.cat([table, self.model.word_embeddings(ids)], 1)
            return self.model(mask, labels, embeds=embeds)
        # [layers * 2, batch, heads, tokens, head_dim]: slot 2i is layer i's key, 2i + 1 its value.
        slots = table.view(batch, VIRTUAL_TOKENS, LAYERS * 2, HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
        return self.model(mask, labels, ids=ids, past=[(slots[2 * i], slots[2 * i + 1]) for i in range(LAYERS)])


def build(mode: str, dropout: bool) -> nn.Module:
    model = DistilBertClassifier(dropout)
    if mode == "full":
        return model
    model.requires_grad_(False)
    if mode == "inference":
        return model
    # Every method trains the heads: PEFT trains a copy of each; training them in place is the same work.
    for head in (model.pre_classifier, model.classifier):
        head.requires_grad_(True)
    if mode == "head":
        return model
    if mode == "lora":
        for layer in model.layers:
            a = layer.attention
            a.q_lin, a.v_lin = (LoraLinear(lin, 0.05 if dropout else 0.0) for lin in (a.q_lin, a.v_lin))
        return model
    return PromptLearning(model, mode)


def time_mode(mode: str, args) -> dict:
    torch.manual_seed(0)
    model = build(mode, args.dropout == "on")
    ids = torch.randint(1000, VOCAB, (args.batch, args.seq))
    mask = torch.ones(args.batch, args.seq)
    labels = torch.randint(0, LABELS, (args.batch,))
    params = [p for p in model.parameters() if p.requires_grad]

    if mode == "inference":
        model.eval()

        def step():
            with torch.no_grad():
                model(mask, labels, ids=ids)
    else:
        model.train()
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)

        def step():
            opt.zero_grad(set_to_none=True)
            model(mask, labels, ids=ids).backward()
            opt.step()

    times = []
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        step()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return {"median_s": median, "min_s": min(times), "max_s": max(times), "times_s": times,
            "sequences_per_s": args.batch / median, "trainable_params": sum(p.numel() for p in params)}


def blas() -> dict:
    """Which BLAS torch's GEMMs go to. Debian's torch calls whichever libblas.so.3 is installed, and the
    reference BLAS (libblas3) alone satisfies its dependency: its GEMMs are tens of times slower than
    OpenBLAS's, which would make every comparison meaningless."""
    built_in = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    if built_in and built_in.group(1) != "generic":
        return {"blas": built_in.group(1), "reference_blas": False}
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[5] for line in f if len(line.split()) > 5 and "blas" in line.split()[5]})
    except OSError:
        libs = []
    return {"blas": ", ".join(libs) or "unknown", "reference_blas": any("/blas/libblas.so" in lib for lib in libs)}


def at_least(least: int):
    def parse(s: str) -> int:
        if not s.isdigit() or int(s) < least:
            raise argparse.ArgumentTypeError(f"needs an integer >= {least}, got {s}")
        return int(s)
    return parse


def modes_of(names: tuple):
    """An argparse type: a comma-separated list of some of `names`."""
    def parse(s: str) -> list:
        chosen = s.split(",")
        for m in chosen:
            if m not in names:
                raise argparse.ArgumentTypeError(f'unknown mode "{m}"; modes: {", ".join(names)}')
        return chosen
    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", type=modes_of(MODES), default=list(MODES))
    ap.add_argument("--batch", type=at_least(1), default=8)
    ap.add_argument("--seq", type=at_least(1), default=128)
    ap.add_argument("--steps", type=at_least(1), default=5, help="timed steps per mode (their median is reported)")
    ap.add_argument("--warmup", type=at_least(0), default=1)
    ap.add_argument("--threads", type=at_least(1), default=2)
    ap.add_argument("--dropout", choices=("on", "off"), default="on")
    ap.add_argument("--about", action="store_true", help="print torch's version and BLAS library as JSON, and exit")
    args = ap.parse_args()
    if args.about:
        print(json.dumps({"torch": torch.__version__, **blas()}))
        return
    positions = args.seq + (VIRTUAL_TOKENS if {"prompt", "prefix"} & set(args.modes) else 0)
    if positions > MAX_POSITIONS:
        ap.error(f"--seq {args.seq} needs {positions} positions; the model has {MAX_POSITIONS}")
    torch.set_num_threads(args.threads)
    results = {}
    for mode in args.modes:
        r = results[mode] = time_mode(mode, args)
        print(f"{mode:10s} median {r['median_s'] * 1000:.1f} ms  fastest {r['min_s'] * 1000:.1f} ms  "
              f"{r['sequences_per_s']:.2f} seq/s  trainable {r['trainable_params']:,}", flush=True)
    print(json.dumps({"torch": torch.__version__, **blas(), "threads": torch.get_num_threads(), "batch": args.batch,
                      "seq": args.seq, "steps": args.steps, "warmup": args.warmup, "dropout": args.dropout,
                      "results": results}))


if __name__ == "__main__":
    main()
