#!/usr/bin/env python3
"""PyTorch reference fixtures for the non-recurrent parts of RecurLayers.

Writes Tests/RecurLayersTests/Fixtures/torch_*.safetensors: Linear, Embedding
(padding_idx), additive/dot/general attention (written here with the same
formulas as Sources/RecurLayers/Attention.swift), cross-entropy (label
smoothing, ignore index, mean and sum), three steps each of SGD / Adam / AdamW
from the same start with given gradients, and learning-rate schedules.

Not needed to build or test. Run with the torch virtual environment:
    /work/venv-torch/bin/python scripts/make_torch_fixtures_layers.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RecurLayersTests", "Fixtures")


def save(name, tensors):
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    path = os.path.join(OUT, f"torch_{name}.safetensors")
    save_file(tensors, path)
    os.chmod(path, 0o644)
    print(f"{path}: {len(tensors)} tensors")


def rand(*shape):
    return torch.rand(*shape) * 2 - 1


# --- Linear ----------------------------------------------------------------
def linear():
    lin = torch.nn.Linear(4, 3)
    x = rand(5, 4).requires_grad_()
    y = lin(x)
    dy = rand(5, 3)
    y.backward(dy)
    save("linear", {"weight": lin.weight, "bias": lin.bias, "x": x, "y": y, "dy": dy,
                    "dx": x.grad, "dweight": lin.weight.grad, "dbias": lin.bias.grad})


# --- Embedding -------------------------------------------------------------
def embedding():
    emb = torch.nn.Embedding(6, 3, padding_idx=0)
    ids = torch.tensor([[1, 0, 3, 3], [5, 2, 0, 1]], dtype=torch.int64)
    y = emb(ids)
    dy = rand(2, 4, 3)
    y.backward(dy)
    save("embedding", {"weight": emb.weight, "ids": ids, "y": y, "dy": dy, "dweight": emb.weight.grad})


# --- Attention -------------------------------------------------------------
S, B, DQ, DK, A, T = 4, 3, 9, 10, 11, 2   # A, DK > 8: both the SIMD lanes and the tail
LENGTHS = [4, 2, 1]


def attention(kind):
    dq = DK if kind == "dot" else DQ
    params = {}
    if kind == "additive":
        params["query_layer.weight"] = rand(A, dq) * 0.5
        params["key_layer.weight"] = rand(A, DK) * 0.5
        params["key_layer.bias"] = rand(A) * 0.5
        params["energy_layer.weight"] = rand(1, A)
    elif kind == "general":
        params["key_layer.weight"] = rand(dq, DK) * 0.5
    for p in params.values():
        p.requires_grad_()
    keys = rand(S, B, DK).requires_grad_()            # (S, B, Dk) time-major
    queries = rand(T, B, dq).requires_grad_()         # one query per decoder step
    mask = torch.zeros(B, S, dtype=torch.bool)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = True
    kb = keys.transpose(0, 1)                         # (B, S, Dk)
    if kind == "additive":                            # U k + b once per source
        pk = kb @ params["key_layer.weight"].t() + params["key_layer.bias"]
    elif kind == "general":                           # W k once per source
        pk = kb @ params["key_layer.weight"].t()
    contexts, weights = [], []
    for t in range(T):
        q = queries[t]
        if kind == "additive":
            hq = q @ params["query_layer.weight"].t()                         # (B, A)
            e = (torch.tanh(hq[:, None, :] + pk) @ params["energy_layer.weight"].t()).squeeze(-1)
        elif kind == "dot":
            e = (kb * q[:, None, :]).sum(-1)
        else:
            e = (pk * q[:, None, :]).sum(-1)
        e = e.masked_fill(~mask, float("-inf"))
        w = torch.softmax(e, dim=-1)
        c = (w[:, :, None] * kb).sum(1)
        contexts.append(c)
        weights.append(w)
    contexts = torch.stack(contexts)                  # (T, B, Dk)
    weights = torch.stack(weights)                    # (T, B, S)
    dcontexts = rand(T, B, DK)
    dweights = rand(T, B, S)
    loss = (contexts * dcontexts).sum() + (weights * dweights).sum()
    loss.backward()
    out = {"keys": keys, "queries": queries, "lengths": torch.tensor(LENGTHS, dtype=torch.int64),
           "contexts": contexts, "weights": weights, "dcontexts": dcontexts, "dweights": dweights,
           "dkeys": keys.grad, "dqueries": queries.grad}
    for k, p in params.items():
        out[k] = p
        out["d." + k] = p.grad
    save(f"attention_{kind}", out)


# --- Cross-entropy ---------------------------------------------------------
def cross_entropy():
    n, v = 7, 5
    logits = (rand(n, v) * 3)
    targets = torch.tensor([1, 0, 4, 2, 0, 3, 1], dtype=torch.int64)   # 0 = padding
    out = {"logits": logits, "targets": targets}
    cases = {"plain": dict(), "smooth": dict(label_smoothing=0.1),
             "ignore": dict(ignore_index=0), "smooth_ignore": dict(ignore_index=0, label_smoothing=0.2),
             "smooth_ignore_sum": dict(ignore_index=0, label_smoothing=0.2, reduction="sum")}
    for name, kw in cases.items():
        x = logits.clone().requires_grad_()
        loss = F.cross_entropy(x, targets, **kw)
        loss.backward()
        out[name + ".loss"] = loss.reshape(1)
        out[name + ".dlogits"] = x.grad
    save("cross_entropy", out)


# --- Optimizers ------------------------------------------------------------
def optimizers():
    a0, b0 = rand(3, 4), rand(5)
    grads = [(rand(3, 4), rand(5)) for _ in range(3)]
    out = {"a0": a0, "b0": b0}
    for i, (ga, gb) in enumerate(grads):
        out[f"grad{i + 1}.a"], out[f"grad{i + 1}.b"] = ga, gb
    configs = {
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=0.1),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    }
    for name, make in configs.items():
        a = a0.clone().requires_grad_()
        b = b0.clone().requires_grad_()
        opt = make([a, b])
        for i, (ga, gb) in enumerate(grads):
            a.grad, b.grad = ga.clone(), gb.clone()
            opt.step()
            out[f"{name}.step{i + 1}.a"] = a.detach().clone()
            out[f"{name}.step{i + 1}.b"] = b.detach().clone()
    # clip_grad_norm_ on the first gradients
    a = a0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    a.grad, b.grad = grads[0][0].clone() * 3, grads[0][1].clone() * 3
    norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    out["clip.norm"] = norm.reshape(1)
    out["clip.a"], out["clip.b"] = a.grad, b.grad
    save("optimizers", out)


# --- Schedules -------------------------------------------------------------
def lrs(make, steps=12, base=0.5):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = make(opt)
    values = []
    for _ in range(steps):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(values, dtype=torch.float32)


def schedules():
    L = torch.optim.lr_scheduler
    out = {
        "step": lrs(lambda o: L.StepLR(o, step_size=3, gamma=0.5)),
        "exponential": lrs(lambda o: L.ExponentialLR(o, gamma=0.9)),
        "linear_warmup": lrs(lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4)),
        "inverse_sqrt": lrs(lambda o: L.LambdaLR(o, lambda e: (4 / max(e + 1, 4)) ** 0.5)),
        "warmup_exponential": lrs(lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.1, total_iters=3), L.ExponentialLR(o, gamma=0.8)], milestones=[3])),
    }
    # ReduceLROnPlateau, mode min, fed a metric sequence
    metrics = [1.0, 0.9, 0.9, 0.95, 0.9, 0.89999, 0.91, 0.92, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    for name, kw in {"plateau": dict(factor=0.5, patience=1, threshold=1e-3, cooldown=1, min_lr=0.05),
                     "plateau_abs": dict(factor=0.3, patience=2, threshold=0.05, threshold_mode="abs")}.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        sched = L.ReduceLROnPlateau(opt, mode="min", **kw)
        values = []
        for m in metrics:
            sched.step(m)
            values.append(opt.param_groups[0]["lr"])
        out[name] = torch.tensor(values, dtype=torch.float32)
    out["plateau_metrics"] = torch.tensor(metrics, dtype=torch.float32)
    for k, v in out.items():
        print(k, [round(x, 7) for x in v.tolist()])
    save("schedules", out)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    linear()
    embedding()
    for kind in ("additive", "dot", "general"):
        attention(kind)
    cross_entropy()
    optimizers()
    schedules()
