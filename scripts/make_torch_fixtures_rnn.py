"""PyTorch reference fixtures for Recur's recurrent layers (RNN tanh/relu, LSTM, GRU).

Writes Tests/RecurLayersTests/Fixtures/rnn_<kind>_<variant>.safetensors, each holding:
  weights under torch's names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse),
  x (T, B, I), lengths (B, int64), h0 [, c0] (L*D, B, H),
  output (T, B, D*H) (zero at padded steps), hN [, cN] (L*D, B, H),
  W1, W2 [, W3]: the loss is sum(output*W1) + sum(hN*W2) + sum(cN*W3),
  grad.<weight name>, grad.x, grad.h0 [, grad.c0]: every gradient of that loss.
Metadata: kind, layers, bidirectional, input, hidden.

Computed in float64 from float32-rounded weights and inputs, stored as float32, so the
fixtures are the exact answer to float32 precision. Variable lengths go through
pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence(total_length=T).

Run: /work/venv-torch/bin/python scripts/make_torch_fixtures_rnn.py   (not needed to build or test)
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RecurLayersTests", "Fixtures")

# (variant, layers, bidirectional, lengths or None) with T = 5, B = 3
VARIANTS = [
    ("l1", 1, False, None),
    ("l1_packed", 1, False, [5, 2, 4]),
    ("l2_bi_packed", 2, True, [3, 5, 1]),
]
KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
I, H, T, B = 3, 4, 5, 3


def make(kind, layers, bidir):
    if kind == "lstm":
        return nn.LSTM(I, H, num_layers=layers, bidirectional=bidir)
    if kind == "gru":
        return nn.GRU(I, H, num_layers=layers, bidirectional=bidir)
    return nn.RNN(I, H, num_layers=layers, bidirectional=bidir, nonlinearity=kind.split("_")[1])


def main():
    os.makedirs(OUT, exist_ok=True)
    seed = 0
    for kind in KINDS:
        for variant, layers, bidir, lengths in VARIANTS:
            seed += 1
            torch.manual_seed(seed)
            model = make(kind, layers, bidir)
            with torch.no_grad():
                for p in model.parameters():  # a wider range than the default, so tanh/σ bend
                    p.uniform_(-0.8, 0.8)
            model = model.double()
            D = 2 if bidir else 1
            x = torch.empty(T, B, I).uniform_(-1, 1).double().requires_grad_(True)
            h0 = torch.empty(layers * D, B, H).uniform_(-0.5, 0.5).double().requires_grad_(True)
            c0 = torch.empty(layers * D, B, H).uniform_(-0.5, 0.5).double().requires_grad_(True)
            W1 = torch.empty(T, B, D * H).uniform_(-1, 1).double()
            W2 = torch.empty(layers * D, B, H).uniform_(-1, 1).double()
            W3 = torch.empty(layers * D, B, H).uniform_(-1, 1).double()
            state = (h0, c0) if kind == "lstm" else h0
            if lengths is None:
                out, st = model(x, state)
                lens = [T] * B
            else:
                packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
                out_p, st = model(packed, state)
                out, _ = nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
                lens = lengths
            hN, cN = st if kind == "lstm" else (st, None)
            loss = (out * W1).sum() + (hN * W2).sum()
            if cN is not None:
                loss = loss + (cN * W3).sum()
            loss.backward()
            t = {}
            for name, p in model.named_parameters():
                t[name] = p.detach().float()
                t["grad." + name] = p.grad.float()
            t["x"] = x.detach().float()
            t["grad.x"] = x.grad.float()
            t["lengths"] = torch.tensor(lens, dtype=torch.int64)
            t["h0"] = h0.detach().float()
            t["grad.h0"] = h0.grad.float()
            t["output"] = out.detach().float()
            t["hN"] = hN.detach().float()
            t["W1"] = W1.float()
            t["W2"] = W2.float()
            if kind == "lstm":
                t["c0"] = c0.detach().float()
                t["grad.c0"] = c0.grad.float()
                t["cN"] = cN.detach().float()
                t["W3"] = W3.float()
            meta = {"kind": kind, "layers": str(layers), "bidirectional": str(bidir).lower(),
                    "input": str(I), "hidden": str(H), "torch": torch.__version__}
            path = os.path.join(OUT, f"rnn_{kind}_{variant}.safetensors")
            save_file({k: v.contiguous() for k, v in t.items()}, path, metadata=meta)
            print(path, f"loss={loss.item():.6f}")


if __name__ == "__main__":
    main()
