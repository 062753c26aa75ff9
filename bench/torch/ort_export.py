#!/usr/bin/env python3
"""Exports the models of `npm run bench -- inference --compare-ort` to ONNX for ONNX Runtime.

Reads a model directory finetune-ts wrote (config.json + model.safetensors, float32 or bfloat16, Hugging Face key
names), loads the weights in float32 into a plain-PyTorch module with transformers' structure and numerics, and
writes it with torch.onnx.export (opset 14, dynamic batch and sequence axes):

  distilbert  DistilBertForSequenceClassification (eager attention): inputs input_ids, attention_mask
              (int64 [batch, seq]); outputs logits [batch, labels] and last_hidden_state [batch, seq, dim]
  gpt2        GPT2LMHeadModel as a with-past decoder: inputs input_ids (int64 [batch, seq]) and
              past.<i>.key / past.<i>.value ([batch, heads, past, head_dim], past may be 0); outputs logits
              [batch, seq, vocab] and present.<i>.key / present.<i>.value (the past with this step appended).
              Positions are past + arange(seq), attention causal over past + seq (no padding).

Needs only torch (Debian: python3-torch). Usage: python3 bench/torch/ort_export.py distilbert|gpt2 MODEL_DIR OUT.onnx
"""
from __future__ import annotations

import json
import math
import os
import struct
import sys

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as e:
    print(f"ort_export.py: PyTorch not found ({e})", file=sys.stderr)
    sys.exit(3)


DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16}


def read_safetensors(path: str) -> dict[str, torch.Tensor]:
    """The format is 8 bytes of little-endian header length, a JSON header, then the raw tensors."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}; the export reads F32 and BF16 only")
        begin, end = info["data_offsets"]
        # A bf16 weight (--base-dtype bf16) widens exactly: ONNX Runtime runs the same values in float32.
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[info["dtype"]]).float()
        out[name] = t.reshape(info["shape"])
    return out


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh}


# ------------------------------------------------------------------------------------------------ DistilBERT

class DistilBertAttention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d = c["dim"]
        self.heads = c["n_heads"]
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, masked):
        b, _, d = x.shape
        hd = d // self.heads

        def split(t):
            return t.view(b, -1, self.heads, hd).transpose(1, 2)

        q = split(self.q_lin(x)) / math.sqrt(hd)
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = (q @ k.transpose(2, 3)).masked_fill(masked, torch.finfo(q.dtype).min)
        return self.out_lin((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, -1, d))


class DistilBertFFN(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(c["dim"], c["hidden_dim"]), nn.Linear(c["hidden_dim"], c["dim"])
        self.act = ACTIVATIONS[c.get("activation", "gelu")]

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class DistilBertBlock(nn.Module):
    """Post-norm, with DistilBERT's LayerNorm eps 1e-12."""

    def __init__(self, c: dict):
        super().__init__()
        self.attention = DistilBertAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.ffn = DistilBertFFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, x, masked):
        sa = self.sa_layer_norm(self.attention(x, masked) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class DistilBertClassifier(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d = c["dim"]
        self.distilbert = nn.Module()
        emb = self.distilbert.embeddings = nn.Module()
        emb.word_embeddings = nn.Embedding(c["vocab_size"], d)
        emb.position_embeddings = nn.Embedding(c["max_position_embeddings"], d)
        emb.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        self.distilbert.transformer = nn.Module()
        self.distilbert.transformer.layer = nn.ModuleList(DistilBertBlock(c) for _ in range(c["n_layers"]))
        self.pre_classifier = nn.Linear(d, d)
        self.classifier = nn.Linear(d, len(c.get("id2label", {0: 0, 1: 1})))

    def forward(self, input_ids, attention_mask):
        emb = self.distilbert.embeddings
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        h = emb.LayerNorm(emb.word_embeddings(input_ids) + emb.position_embeddings(positions))
        masked = (attention_mask == 0)[:, None, None, :]
        for block in self.distilbert.transformer.layer:
            h = block(h, masked)
        return self.classifier(F.relu(self.pre_classifier(h[:, 0]))), h


def export_distilbert(c: dict, weights: dict, out: str) -> None:
    model = DistilBertClassifier(c)
    model.load_state_dict(weights)
    model.eval()
    ids = torch.randint(0, c["vocab_size"], (2, 7))
    mask = torch.ones(2, 7, dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"},
            "last_hidden_state": {0: "batch", 1: "seq"}}
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), out, opset_version=14, input_names=["input_ids", "attention_mask"],
                          output_names=["logits", "last_hidden_state"], dynamic_axes=axes, do_constant_folding=True)


# ------------------------------------------------------------------------------------------------ GPT-2

class Conv1D(nn.Module):
    """transformers' Conv1D: a linear layer whose weight is stored [in, out]."""

    def __init__(self, n_out: int, n_in: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class GPT2Attention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        e = c["n_embd"]
        self.heads = c["n_head"]
        self.c_attn, self.c_proj = Conv1D(3 * e, e), Conv1D(e, e)

    def forward(self, x, past_key, past_value):
        b, s, e = x.shape
        hd = e // self.heads

        def split(t):
            return t.view(b, -1, self.heads, hd).transpose(1, 2)

        q, k, v = (split(t) for t in self.c_attn(x).split(e, dim=2))
        k, v = torch.cat([past_key, k], 2), torch.cat([past_value, v], 2)
        w = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        past = past_key.shape[2]
        causal = torch.arange(k.shape[2])[None, :] <= (torch.arange(s) + past)[:, None]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        o = (w.softmax(-1) @ v).transpose(1, 2).reshape(b, s, e)
        return self.c_proj(o), k, v


class GPT2Block(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        e, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.ln_1, self.ln_2 = nn.LayerNorm(e, eps=eps), nn.LayerNorm(e, eps=eps)
        self.attn = GPT2Attention(c)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(c.get("n_inner") or 4 * e, e)
        self.mlp.c_proj = Conv1D(e, c.get("n_inner") or 4 * e)
        self.act = ACTIVATIONS[c.get("activation_function", "gelu_new")]

    def forward(self, x, past_key, past_value):
        a, k, v = self.attn(self.ln_1(x), past_key, past_value)
        h = x + a
        return h + self.mlp.c_proj(self.act(self.mlp.c_fc(self.ln_2(h)))), k, v


class GPT2LMHead(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        e = c["n_embd"]
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(c["vocab_size"], e)
        self.transformer.wpe = nn.Embedding(c["n_positions"], e)
        self.transformer.h = nn.ModuleList(GPT2Block(c) for _ in range(c["n_layer"]))
        self.transformer.ln_f = nn.LayerNorm(e, eps=c.get("layer_norm_epsilon", 1e-5))

    def forward(self, input_ids, *past):
        t = self.transformer
        start = past[0].shape[2]
        h = t.wte(input_ids) + t.wpe(torch.arange(input_ids.shape[1]) + start)
        presents = []
        for i, block in enumerate(t.h):
            h, k, v = block(h, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (t.ln_f(h) @ t.wte.weight.t(), *presents)  # the LM head is tied to wte


def export_gpt2(c: dict, weights: dict, out: str) -> None:
    model = GPT2LMHead(c)
    model.load_state_dict(weights)
    model.eval()
    layers, heads, e = c["n_layer"], c["n_head"], c["n_embd"]
    ids = torch.randint(0, c["vocab_size"], (1, 3))
    past = [torch.randn(1, heads, 4, e // heads) for _ in range(2 * layers)]
    past_names = [f"past.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present_names = [n.replace("past", "present") for n in past_names]
    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    axes.update({n: {0: "batch", 2: "past"} for n in past_names})
    axes.update({n: {0: "batch", 2: "total"} for n in present_names})
    with torch.no_grad():
        torch.onnx.export(model, (ids, *past), out, opset_version=14, input_names=["input_ids", *past_names],
                          output_names=["logits", *present_names], dynamic_axes=axes, do_constant_folding=True)


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("distilbert", "gpt2"):
        raise SystemExit(__doc__)
    kind, model_dir, out = sys.argv[1:]
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    torch.manual_seed(0)  # only the trace's example inputs are random
    (export_distilbert if kind == "distilbert" else export_gpt2)(config, weights, out)


if __name__ == "__main__":
    main()
