#!/usr/bin/env python3
"""Writes test/fixtures/torch-reference.json: PyTorch's LSTM forward/backward and several optimizer steps
on small random inputs, the reference for tests/nn and tests/optim. Run with Debian's /usr/bin/python3
(python3-torch). Tests never run this; they read the committed JSON."""
import json
import torch

torch.manual_seed(0)
lstm = torch.nn.LSTM(3, 2, num_layers=2, bidirectional=True, batch_first=True)
x = torch.randn(2, 4, 3, requires_grad=True)
y, _ = lstm(x)
w = torch.arange(y.numel(), dtype=torch.float32).reshape(y.shape) / 10
(y * w).sum().backward()
lstm_ref = {
    "params": {k: v.detach().flatten().tolist() for k, v in lstm.state_dict().items()},
    "shapes": {k: list(v.shape) for k, v in lstm.state_dict().items()},
    "x": x.detach().flatten().tolist(),
    "y": y.detach().flatten().tolist(),
    "dx": x.grad.flatten().tolist(),
    "dw_ih_l1_reverse": lstm.weight_ih_l1_reverse.grad.flatten().tolist(),
}

torch.manual_seed(1)
p0 = torch.randn(7)
grads = [torch.randn(7) for _ in range(4)]


def run(make):
    p = torch.nn.Parameter(p0.clone())
    opt = make([p])
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach().tolist()


optim = {
    "p0": p0.tolist(),
    "grads": [g.tolist() for g in grads],
    "adamw": run(lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)),
    "sgd_momentum": run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov": run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
}
json.dump({"lstm": lstm_ref, "optim": optim}, open("test/fixtures/torch-reference.json", "w"))
