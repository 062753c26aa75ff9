#!/usr/bin/env python3
"""The PyTorch side of `npm run bench -- llm --compare-torch`.

A decoder LLM of SmolLM2-135M's shape (vocab 49152, hidden 576, 30 layers, 9 query / 3 key-value heads, MLP 1536,
tied embeddings; random weights) written in plain PyTorch with the structure and numerics of transformers'
LlamaForCausalLM (eager attention): RMSNorm computed in float32, rotary embeddings with rotate_half, grouped-query
attention, SwiGLU MLP, the causal-LM loss on labels shifted by one. The modes bench/llm-case.ts times:

  llm-lora      forward + backward + AdamW; LoRA r=16, alpha 32, dropout 0.05 on q,k,v,o,gate,up,down (PEFT's layer,
                train_bench.py's LoraLinear)
  llm-full      forward + backward + AdamW, every weight trains
  llm-generate  greedy decoding with a key/value cache: a prefill of --prefill tokens, then --new-tokens tokens
                one forward each (the first comes from the prefill), batch 1, under torch.no_grad()

Needs only torch (Debian: apt-get install python3-torch). Usage:

  python3 bench/torch/llm_bench.py [--modes llm-lora,llm-full,llm-generate] [--size smollm2|tiny] [--batch 4]
                                   [--seq 256] [--prefill 128] [--new-tokens 128] [--steps 3] [--warmup 1] [--threads 2]
  python3 bench/torch/llm_bench.py --check DIR IDS_JSON

As train_bench.py: one line per mode, then one JSON object {"results": {mode: {"median_s", "min_s", ...}}, ...}
as the last line; `--about` prints torch's version and BLAS; exit status 3 without torch. `--check` loads a model
folder our side saved (config.json, model.safetensors, float32), runs the forward and greedy decoding on the token
ids of IDS_JSON ({"input_ids": [[...]], "new_tokens": N}) and prints {"logits", "loss", "generated"}: the test
that both sides compute the same model (test/bench/llm-torch.test.ts).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.nn.functional as F
    from torch import nn
    from train_bench import LoraLinear, at_least, blas, modes_of
except ImportError as e:
    print(f"llm_bench.py: PyTorch not found ({e})", file=sys.stderr)
    sys.exit(3)

# config.json fields, as the TypeScript side's bench/llm-case.ts builds its models.
SIZES = {
    "smollm2": {"vocab_size": 49152, "hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9,
                "num_key_value_heads": 3, "intermediate_size": 1536, "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
                "tie_word_embeddings": True},
    "tiny": {"vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "intermediate_size": 128, "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
             "tie_word_embeddings": True},
}
MODES = ("llm-lora", "llm-full", "llm-generate")
LORA_RANK, LORA_ALPHA, LORA_DROPOUT = 16, 32, 0.05
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), -1)


class Attention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, self.heads, self.kv_heads = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = d // self.heads
        self.q_proj = nn.Linear(d, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin, mask, past):
        batch, seq, _ = x.shape

        def heads(t, n):
            return t.view(batch, seq, n, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x), self.heads), heads(self.k_proj(x), self.kv_heads), heads(self.v_proj(x), self.kv_heads)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        present = (k, v)
        groups = self.heads // self.kv_heads  # transformers' repeat_kv: query head h reads kv head h // groups
        k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        scores = (q @ k.transpose(2, 3)) * self.head_dim ** -0.5
        if mask is not None:
            scores = scores + mask
        context = scores.softmax(-1, dtype=torch.float32) @ v
        return self.o_proj(context.transpose(1, 2).reshape(batch, seq, -1)), present


class Layer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, f = c["hidden_size"], c["intermediate_size"]
        self.self_attn = Attention(c)
        self.mlp = nn.Module()
        self.mlp.gate_proj, self.mlp.up_proj = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        self.mlp.down_proj = nn.Linear(f, d, bias=False)
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask, past):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        h = x + a
        m, n = self.mlp, self.post_attention_layernorm(h)
        return h + m.down_proj(F.silu(m.gate_proj(n)) * m.up_proj(n)), present


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], d)
        self.model.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.model.norm = RMSNorm(d, c["rms_norm_eps"])
        self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", False):
            self.lm_head.weight = self.model.embed_tokens.weight
        head_dim = d // c["num_attention_heads"]
        self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
        for m in self.modules():  # transformers' _init_weights: N(0, initializer_range) for every matrix
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, c.get("initializer_range", 0.02))

    def forward(self, ids, labels=None, past=None):
        batch, seq = ids.shape
        start = 0 if past is None else past[0][0].shape[2]
        freqs = torch.arange(start, start + seq, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = None
        if seq > 1:  # causal over past + new keys; a single new token sees them all
            keys = start + seq
            above = torch.arange(keys)[None, :] > torch.arange(start, keys)[:, None]
            mask = torch.zeros(seq, keys).masked_fill(above, torch.finfo(torch.float32).min)
        h = self.model.embed_tokens(ids)
        presents = []
        for i, layer in enumerate(self.model.layers):
            h, present = layer(h, cos, sin, mask, None if past is None else past[i])
            presents.append(present)
        logits = self.lm_head(self.model.norm(h))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))
        return logits, loss, presents


def add_lora(model: LlamaForCausalLM) -> None:
    model.requires_grad_(False)
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in LORA_TARGETS:
                if hasattr(parent, name):
                    setattr(parent, name, LoraLinear(getattr(parent, name), LORA_DROPOUT, LORA_RANK, LORA_ALPHA))


def generate(model: LlamaForCausalLM, ids, new_tokens: int, on_token=None) -> list:
    """Greedy decoding with the cache: the prefill gives the first token, each later one costs one forward."""
    out, past, step = [], None, ids
    with torch.no_grad():
        for _ in range(new_tokens):
            logits, _, past = model(step, past=past)
            step = logits[:, -1].argmax(-1, keepdim=True)
            out.append(step)
            if on_token:
                on_token()
    return torch.cat(out, 1).tolist() if out else [[] for _ in range(ids.shape[0])]


def time_mode(mode: str, args) -> dict:
    torch.manual_seed(0)
    c = SIZES[args.size]
    model = LlamaForCausalLM(c)
    if mode == "llm-generate":
        model.eval()
        ids = torch.randint(0, c["vocab_size"], (1, args.prefill))
        times, prefills = [], []
        for i in range(args.warmup + args.steps):
            marks = [time.perf_counter()]
            generate(model, ids, args.new_tokens, lambda: marks.append(time.perf_counter()))
            if i >= args.warmup:
                times.append(marks[-1] - marks[0])
                prefills.append(marks[1] - marks[0])
        median = statistics.median(times)
        decode = median - statistics.median(prefills)
        return {"median_s": median, "min_s": min(times), "times_s": times, "prefill_s": statistics.median(prefills),
                "tokens_per_s": args.new_tokens / median, "decode_tokens_per_s": (args.new_tokens - 1) / decode if decode > 0 else None}
    if mode == "llm-lora":
        add_lora(model)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, c["vocab_size"], (args.batch, args.seq))
    times = []
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        model(ids, labels=ids)[1].backward()
        opt.step()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return {"median_s": median, "min_s": min(times), "times_s": times, "tokens_per_s": args.batch * args.seq / median,
            "trainable_params": sum(p.numel() for p in params)}


def read_safetensors(path: str) -> dict:
    """The float32 tensors of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}; --check reads float32 files")
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float32).view(info["shape"])
    return out


def check(folder: str, ids_file: str) -> None:
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    with open(ids_file) as f:
        spec = json.load(f)
    model = LlamaForCausalLM(c).eval()
    missing, unexpected = model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")), strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and c.get("tie_word_embeddings"))]
    if missing or unexpected:
        raise ValueError(f"{folder}: missing {missing}, unexpected {unexpected}")
    ids = torch.tensor(spec["input_ids"])
    with torch.no_grad():
        logits, loss, _ = model(ids, labels=ids)
    print(json.dumps({"logits": logits.flatten().tolist(), "loss": loss.item(),
                      "generated": generate(model, ids, spec["new_tokens"])}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", type=modes_of(MODES), default=list(MODES))
    ap.add_argument("--size", choices=tuple(SIZES), default="smollm2")
    ap.add_argument("--batch", type=at_least(1), default=4)
    ap.add_argument("--seq", type=at_least(2), default=256)
    ap.add_argument("--prefill", type=at_least(1), default=128)
    ap.add_argument("--new-tokens", type=at_least(1), default=128)
    ap.add_argument("--steps", type=at_least(1), default=3, help="timed steps (generations) per mode; their median is reported")
    ap.add_argument("--warmup", type=at_least(0), default=1)
    ap.add_argument("--threads", type=at_least(1), default=2)
    ap.add_argument("--about", action="store_true", help="print torch's version and BLAS library as JSON, and exit")
    ap.add_argument("--check", nargs=2, metavar=("DIR", "IDS_JSON"), help="print logits, loss and greedy tokens of a saved model")
    args = ap.parse_args()
    if args.about:
        print(json.dumps({"torch": torch.__version__, **blas()}))
        return
    torch.set_num_threads(args.threads)
    if args.check:
        check(*args.check)
        return
    results = {}
    for mode in args.modes:
        r = results[mode] = time_mode(mode, args)
        print(f"{mode:12s} median {r['median_s'] * 1000:.1f} ms  fastest {r['min_s'] * 1000:.1f} ms  "
              f"{r['tokens_per_s']:.1f} tokens/s", flush=True)
    print(json.dumps({"torch": torch.__version__, **blas(), "threads": torch.get_num_threads(), "size": args.size,
                      "batch": args.batch, "seq": args.seq, "prefill": args.prefill, "new_tokens": args.new_tokens,
                      "steps": args.steps, "warmup": args.warmup, "results": results}))


if __name__ == "__main__":
    main()
