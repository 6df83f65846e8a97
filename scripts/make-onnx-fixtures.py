#!/usr/bin/env python3
"""Make the PyTorch-built ONNX fixtures for strata's ONNX importer.

What it makes (in crates/strata-cli/tests/data/onnx-torch/ unless --out says otherwise):
  for each network NAME in mlp, lenet5, resnet_bn_folded, resnet_bn_node, lstm, gru,
  lenet5_normalized, unsupported:
    NAME.onnx            the network trained in PyTorch on Fashion-MNIST and exported with the
                         classic TorchScript exporter (torch.onnx.export(..., dynamo=False),
                         opset 17, input 'input' (N,1,28,28) float32, output 'logits' (N,10),
                         batch dimension dynamic ('batch'))
    NAME.expected.json   what PyTorch says about it: test accuracy on all 10,000 test images,
                         logits and labels of the first 16 test images, input normalization,
                         the ONNX op types in the graph, and the onnxruntime cross-check
  first16-test-images.json  the first 16 Fashion-MNIST test images (uint8 pixels, row-major
                         28x28) and their labels, so a test can feed them without the dataset
  README.md              what each file is, versions, licence, the ops each graph uses, notes
                         for the importer, and every graph's node list (op type, inputs,
                         outputs, attributes), all written by this script

Inputs: pixels scaled to [0, 1] (torchvision's ToTensor convention), NCHW (N,1,28,28). Only
lenet5_normalized is trained (and evaluated) on (x - 0.2860) / 0.3530; the normalization is
NOT part of its graph (the importer's `--normalize 0.2860/0.3530` supplies it).

How to rerun (the venv is outside the repo; nothing here needs a GPU):
  python3 -m venv /work/venv-torch
  /work/venv-torch/bin/pip install torch==2.15.0 numpy==2.4.6 onnx onnxruntime
  nice -n 10 /work/venv-torch/bin/python scripts/make-onnx-fixtures.py
Options: --out DIR, --only GROUP[,GROUP...] (mlp, lenet5, resnet, lstm, gru, lenet5_normalized,
unsupported), --readme-only (rewrite README.md from the files there), --data DIR (default $FMNIST_DIR or
/usr/share/datasets/fashion-mnist, the Debian package dataset-fashion-mnist).

Seeds: every network is trained with torch.manual_seed(SEED[name]) set just before it is built
(see SEEDS below) and a shuffle order from torch.Generator seeded the same; torch runs on 1 CPU
thread. Results are reproducible on the same torch build and CPU; a different CPU or torch
version may give slightly different weights (the expected files always match the .onnx beside
them, since both are written by the same run).

Verification done here, per network: onnxruntime (CPU) on the exported file gives logits within
1e-4 (max abs diff over all 10,000 test images) of PyTorch's, and the same test accuracy; the
script exits non-zero otherwise.
"""
import argparse
import gzip
import io
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "strata-cli", "tests", "data", "onnx-torch")
MEAN, STD = 0.2860, 0.3530
OPSET = 17
SEEDS = {
    "mlp": 1,
    "lenet5": 2,
    "resnet": 3,
    "lstm": 4,
    "gru": 5,
    "lenet5_normalized": 6,
    "unsupported": 7,
}


# ---------------------------------------------------------------- data
def read_idx(path):
    with open(path, "rb") as f:
        raw = gzip.decompress(f.read())
    magic = int.from_bytes(raw[0:4], "big")
    if (magic >> 8) & 0xFF != 0x08:
        raise ValueError(f"{path}: not a ubyte IDX file")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    p = {"train": "train", "test": "t10k"}[split]
    x = read_idx(os.path.join(data_dir, f"{p}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{p}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y  # uint8 (N,28,28), int64 (N,)


def to_input(x_u8, normalize):
    """uint8 (N,28,28) -> float32 (N,1,28,28) in [0,1] (ToTensor), optionally standardized."""
    x = x_u8.astype(np.float32)[:, None] / np.float32(255.0)
    if normalize:
        x = (x - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(x, dtype=np.float32)


# ---------------------------------------------------------------- networks
class MLP(nn.Module):
    """Flatten -> 784-128 ReLU -> 128-64 ReLU -> 64-10. Flattens with x.view(x.size(0), -1), so
    the export has the Shape/Gather/Unsqueeze/Concat/Reshape arithmetic instead of Flatten."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """Conv 6@5x5 pad 2, ReLU, MaxPool 2 -> Conv 16@5x5, ReLU, MaxPool 2 -> torch.flatten(x, 1)
    -> 120 ReLU -> 84 ReLU -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + sc)


class ResNet(nn.Module):
    """Stem conv3x3 16 + BN + ReLU -> block 16 (identity shortcut) -> block 32 stride 2 (1x1
    conv + BN projection shortcut) -> block 32 (identity) -> global average pool -> Linear 32-10."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 32, 1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(x)


class RowRNN(nn.Module):
    """(N,1,28,28) -> (N,28,28): 28 time steps, each one image row of 28 pixels -> LSTM or GRU
    (hidden 64, batch_first) -> output at the last time step -> Linear 64-10."""

    def __init__(self, cell):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(28, 64, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = x.reshape(x.size(0), 28, 28)
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


class Unsupported(nn.Module):
    """A tiny network with HardSwish (ONNX op HardSwish, opset 14+), an op the importer is not
    expected to support: Flatten -> Linear 784-16 -> hardswish -> Linear 16-10."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(F.hardswish(self.fc1(torch.flatten(x, 1))))


# name -> (constructor, seed key, epochs, normalize, export variants: (file name, export kwargs))
FIXTURES = {
    "mlp": (MLP, "mlp", 2, False, [("mlp", {})]),
    "lenet5": (LeNet5, "lenet5", 2, False, [("lenet5", {})]),
    "resnet": (
        ResNet,
        "resnet",
        1,
        False,
        [
            # default eval-mode export: constant folding fuses each Conv+BatchNormalization
            ("resnet_bn_folded", {}),
            # TrainingMode.PRESERVE with the module in eval mode: exported in inference form
            # (BatchNormalization with training_mode=0, one output) but the eval-mode Conv+BN
            # fusion pass is skipped, so BatchNormalization stays its own node
            ("resnet_bn_node", {"training": torch.onnx.TrainingMode.PRESERVE}),
        ],
    ),
    "lstm": (lambda: RowRNN("lstm"), "lstm", 2, False, [("lstm", {})]),
    "gru": (lambda: RowRNN("gru"), "gru", 2, False, [("gru", {})]),
    "lenet5_normalized": (LeNet5, "lenet5_normalized", 2, True, [("lenet5_normalized", {})]),
    "unsupported": (Unsupported, "unsupported", 1, False, [("unsupported", {})]),
}


DESCRIPTIONS = {
    "mlp": "MLP: x.view(N, -1) -> Linear 784-128 ReLU -> 128-64 ReLU -> 64-10",
    "lenet5": "LeNet-5: Conv 6@5x5 pad 2, ReLU, MaxPool 2 -> Conv 16@5x5, ReLU, MaxPool 2 -> "
              "torch.flatten(x, 1) -> 120 ReLU -> 84 ReLU -> 10",
    "lenet5_normalized": "LeNet-5 as lenet5, trained on standardized pixels (x - 0.2860) / 0.3530 "
                         "(the normalization is not in the graph)",
    "resnet_bn_folded": "small ResNet (stem conv3x3 16 + BN + ReLU, basic blocks 16, 32 stride 2 with "
                        "1x1 conv + BN shortcut, 32, global average pool, Linear 32-10); BN folded "
                        "into the convolutions by the default eval export",
    "resnet_bn_node": "the same trained ResNet exported with training=TrainingMode.PRESERVE (module "
                      "in eval mode): BatchNormalization kept as its own node (training_mode=0)",
    "lstm": "LSTM row by row: reshape (N,1,28,28) -> (N,28,28) -> nn.LSTM(28, 64, batch_first) -> "
            "last time step -> Linear 64-10",
    "gru": "GRU row by row: reshape (N,1,28,28) -> (N,28,28) -> nn.GRU(28, 64, batch_first) -> "
           "last time step -> Linear 64-10 (linear_before_reset=1)",
    "unsupported": "tiny net with HardSwish, an op the importer does not support: Flatten -> "
                   "Linear 784-16 -> hardswish -> Linear 16-10 (trained 1 epoch)",
}


# ---------------------------------------------------------------- train / evaluate / export
def train(model, seed, epochs, x_u8, y, normalize, batch=128, lr=1e-3):
    x = torch.from_numpy(to_input(x_u8, normalize))
    yt = torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    # cosine decay from lr to 0 over all steps (a BN network's last iterate at a constant
    # Adam lr 1e-3 evaluated badly with its running statistics: 0.67 after one epoch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    model.train()
    for ep in range(epochs):
        t0 = time.time()
        perm = torch.randperm(len(x), generator=g)
        tot, n = 0.0, 0
        for i in range(0, len(x), batch):
            idx = perm[i: i + batch]
            loss = F.cross_entropy(model(x[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        print(f"    epoch {ep + 1}/{epochs}: loss {tot / n:.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()


@torch.no_grad()
def torch_logits(model, x):
    return np.concatenate(
        [model(torch.from_numpy(x[i: i + 1000])).numpy() for i in range(0, len(x), 1000)]
    )


def ort_logits(path, x):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    return np.concatenate(
        [sess.run(["logits"], {"input": x[i: i + 1000]})[0] for i in range(0, len(x), 1000)]
    )


def export(model, path, kwargs):
    torch.onnx.export(
        model,
        (torch.zeros(2, 1, 28, 28),),
        path,
        dynamo=False,
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        **kwargs,
    )


def attr_value(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        arr = onnx.numpy_helper.to_array(v)
        return f"tensor {onnx.TensorProto.DataType.Name(v.data_type)} {list(arr.shape)} {arr.tolist() if arr.size <= 8 else '...'}"
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    if isinstance(v, float):
        return float(np.float32(v))
    return v


def describe(path):
    m = onnx.load(path)
    onnx.checker.check_model(m)
    g = m.graph
    inits = {i.name: list(i.dims) for i in g.initializer}

    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    lines = [
        f"== {os.path.basename(path)} ({os.path.getsize(path)} bytes): ir_version {m.ir_version}, "
        f"opsets {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
        f"producer {m.producer_name} {m.producer_version}",
        f"inputs:  {[(i.name, dims(i)) for i in g.input]}",
        f"outputs: {[(o.name, dims(o)) for o in g.output]}",
        f"initializers ({len(inits)}): " + ", ".join(f"{k} {v}" for k, v in inits.items()),
    ]
    for n in g.node:
        attrs = {a.name: attr_value(a) for a in n.attribute}
        lines.append(
            f"  {n.op_type:<20} {list(n.input)} -> {list(n.output)}" + (f"  {attrs}" if attrs else "")
        )
    ops = sorted({n.op_type for n in g.node})
    return m, ops, "\n".join(lines)


README_HEAD = """# ONNX fixtures made in PyTorch

Written by `scripts/make-onnx-fixtures.py` (do not edit by hand; rerun the script). Networks
built and trained in PyTorch on Fashion-MNIST, exported with the classic TorchScript exporter
`torch.onnx.export(model, x, path, dynamo=False, opset_version=17, input_names=['input'],
output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})`,
for strata's ONNX importer (`strata eval --model-file NAME.onnx --data fashion-mnist` must give
`test_accuracy` within 0.001 and the first 16 images' logits within 1e-4).

Made with {versions}. Tests must not need PyTorch: everything they need is here.

Regenerate (about 15 minutes on one CPU thread; the venv lives outside the repository):

    python3 -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch==2.15.0 numpy==2.4.6 onnx onnxruntime
    nice -n 10 /work/venv-torch/bin/python scripts/make-onnx-fixtures.py [--only GROUP,...]

(`--readme-only` rewrites this file from the files already here without training.)

Seeds are fixed per network (`SEEDS` in the script); Adam lr 1e-3 with cosine decay to 0, batch
128, 1 thread. A rerun on another CPU or torch build may give slightly different weights, but each
`.expected.json` always belongs to the `.onnx` written beside it in the same run.

Data: Fashion-MNIST (Zalando Research, MIT licence), read from the Debian package
`dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`). `first16-test-images.json` holds
the first 16 test images (uint8, row-major 28x28) and labels, so a test can run without the data
set.

## Inputs

Every graph has one input `input`, float32 `[batch, 1, 28, 28]` (NCHW), and one output `logits`,
float32 `[batch, 10]` (no softmax). Pixels are `byte / 255` in [0, 1] (torchvision's ToTensor
convention). Only `lenet5_normalized` was trained on standardized pixels `(x - 0.2860) / 0.3530`;
that normalization is NOT in its graph: evaluate it with `--normalize 0.2860/0.3530` (its
`.expected.json` says so in `input_normalization`; it is `null` for the others).

## Files

Each `NAME.onnx` has a `NAME.expected.json` with: `model`, `file`, `description`,
`input_normalization` (`null` or `{"mean": [..], "std": [..]}`), `test_accuracy` (PyTorch, all
10,000 test images), `first_test_logits` (16 x 10, PyTorch, the first 16 test images in file
order), `first_test_labels`, `opset`, `ops` (sorted op types in the graph), `export` (extra export
arguments), `trained`, and `onnxruntime` (its test accuracy and its largest logit difference from
PyTorch over all 10,000 test images).

"""

README_NOTES = """## What an importer must handle (seen in these graphs)

- File format: `ir_version` 8, one opset import (`ai.onnx` 17), all weights as inline
  initializers (no external data), no `value_info` needed. Initializer and value names contain
  `/`, `.` and `::` (`onnx::LSTM_123`, `/fc1/Gemm_output_0`). The batch dimension is the symbolic
  `batch` on input and output.
- `Gemm` always has `transB=1`, `alpha=1.0`, `beta=1.0`, B = PyTorch's `[out, in]` weight, C the
  bias `[out]` (broadcast over the batch).
- `Conv` lists every attribute explicitly (`dilations`, `group`, `kernel_shape`, `pads`,
  `strides`; no `auto_pad`); `MaxPool` has `ceil_mode=0`, `dilations`, `pads`, `strides`. Conv in
  the ResNets has no bias in PyTorch: `resnet_bn_node` Convs have 2 inputs (no bias), while the
  folded ones in `resnet_bn_folded` have 3 (bias made by folding).
- Batch norm, two ways (same trained weights, same logits):
  - `resnet_bn_folded`: the default eval-mode export (`training=TrainingMode.EVAL`,
    `do_constant_folding=True`) fuses every Conv+BatchNormalization into one Conv (new
    initializers `onnx::Conv_NN` for weight and bias); no BatchNormalization node remains.
  - `resnet_bn_node`: exported with `training=torch.onnx.TrainingMode.PRESERVE` while the module
    is in eval mode. The graph is still the inference form (`BatchNormalization` with
    `training_mode=0`, one output, inputs X, scale, B, input_mean, input_var; `epsilon` is
    1e-5 as float32 = 9.99999974738e-06, `momentum` 0.9 which inference ignores), but the
    Conv+BN fusion pass is skipped, so each BN stays its own node. (EVAL with
    `do_constant_folding=False` keeps the 8 BatchNormalization nodes too, checked on torch 2.15.0;
    PRESERVE was used here.)
  - `resnet_bn_node` also has an `Identity` node whose input is an initializer:
    `layer2.shortcut.1.bias = Identity(layer2.bn2.bias)`. The two BN biases feeding the residual
    `Add` get identical gradients, so they are bitwise equal, and the exporter de-duplicates equal
    initializers this way. The Identity comes first in the node list (topological order holds).
- `mlp` flattens with `x.view(x.size(0), -1)`, exported as shape arithmetic on the batch size:
  `Shape(input)` -> `Gather(indices=Constant int64 scalar 0, axis=0)` (a scalar) ->
  `Unsqueeze(axes=Constant [0])` (axes as an input tensor, opset 13+) ->
  `Concat([batch], Constant [-1], axis=0)` -> `Reshape(input, shape)` with `allowzero=0` and a
  `-1` entry. `Constant` nodes carry a `value` tensor attribute (int64 scalars and 1-D).
  The other networks use `torch.flatten(x, 1)` and get `Flatten(axis=1)`.
- `lstm` / `gru` (`nn.LSTM(28, 64, batch_first=True)` / `nn.GRU`, reading the image row by row):
  - `Reshape` of the input to `[batch, 28, 28]` via the same Shape/Gather/Unsqueeze/Concat
    arithmetic, then `Transpose(perm=[1,0,2])` to sequence-major `[28, batch, 28]`.
  - The initial state is built at run time from the batch size:
    `ConstantOfShape(Concat(Constant [1], Unsqueeze(Gather(Shape(x), 0)), Constant [64]))` with
    `value` = float32 tensor [0.0], i.e. zeros `[1, batch, 64]`; the LSTM takes the same tensor as
    `initial_h` and `initial_c`.
  - `LSTM` attributes: only `hidden_size=64` (so `direction` is the default `forward`, `layout`
    the default 0 = `[seq, batch, ...]`, default activations Sigmoid/Tanh/Tanh, no clip, no
    peepholes). Inputs: X, W `[1, 256, 28]`, R `[1, 256, 64]`, B `[1, 512]` (= Wb then Rb), the
    empty name `''` for the omitted `sequence_lens`, initial_h, initial_c. Gate order is ONNX's
    i, o, f, c (the exporter reordered PyTorch's i, f, g, o). Outputs Y, Y_h, Y_c (only Y used).
  - `GRU` attributes: `hidden_size=64`, `linear_before_reset=1` (PyTorch's formulation: the
    reset gate multiplies `(R_h h + Rb_h)`). W `[1, 192, 28]`, R `[1, 192, 64]`, B `[1, 384]`, gate
    order z, r, h. Inputs X, W, R, B, `''`, initial_h.
  - Y `[28, 1, batch, 64]` -> `Squeeze(axes=Constant [1])` -> `Transpose(perm=[1,0,2])`
    (`[batch, 28, 64]`) -> `Gather(indices=Constant int64 scalar -1, axis=1)`: a NEGATIVE scalar
    index, which also drops the axis, giving `[batch, 64]` -> `Gemm`.
  - The exporter warns that an RNN exported with batch 2 "can cause an error" at other batch
    sizes; it does not here, because the initial state comes from `Shape` (onnxruntime ran the
    files at batch 1000).
- `unsupported` contains `HardSwish` (from `F.hardswish`), which the importer is not meant to
  support: it should refuse the file with an error naming the op (and the node), not crash.

"""


def write_readme(out, names, x_test_u8):
    exp = {n: json.load(open(os.path.join(out, n + ".expected.json"))) for n in names}
    any_e = next(iter(exp.values()))
    versions = (f"torch {any_e['torch_version']}, onnx {any_e['onnx_version']}, onnxruntime "
                f"{any_e['onnxruntime']['version']}, numpy {np.__version__}, Python "
                f"{sys.version.split()[0]}")
    lines = [README_HEAD.replace("{versions}", versions)]
    lines.append("| file | bytes | what | PyTorch test accuracy | onnxruntime accuracy | "
                 "max logit diff (ort vs torch) | near ties | ONNX ops |")
    lines.append("|---|---|---|---|---|---|---|---|")
    total = 0
    texts = []
    for n in names:
        path = os.path.join(out, n + ".onnx")
        _, ops, text = describe(path)
        texts.append(text)
        e = exp[n]
        size = os.path.getsize(path)
        total += size
        what = e["description"].replace("|", "/")
        if e["input_normalization"]:
            what += ": evaluate with --normalize 0.2860/0.3530"
        lo = ort_logits(path, to_input(x_test_u8, e["input_normalization"] is not None))
        top2 = np.sort(lo, 1)[:, -2:]
        ties = int((top2[:, 1] - top2[:, 0] < 1e-3).sum())
        lines.append(f"| `{n}.onnx` | {size} | {what} | {e['test_accuracy']:.4f} | "
                     f"{e['onnxruntime']['test_accuracy']:.4f} | "
                     f"{e['onnxruntime']['max_abs_logit_diff_vs_torch']:.2e} | {ties} | "
                     f"{', '.join(ops)} |")
    lines.append(f"\nTotal of the .onnx files: {total} bytes. *Near ties*: test images whose two "
                 "largest logits (onnxruntime) differ by less than 1e-3; only these can change "
                 "class under float-rounding differences, so each one moves accuracy by at most "
                 "0.0001.\n")
    all_ops = sorted({op for n in names for op in exp[n]["ops"]} - {"HardSwish"})
    lines.append("Ops the importer needs for every file but `unsupported`: "
                 + ", ".join(f"`{o}`" for o in all_ops) + ".\n")
    lines.append(README_NOTES)
    lines.append("## Node lists\n")
    lines.append("Printed by the script's `describe()` (onnx.load + onnx.checker; op type, inputs "
                 "-> outputs, attributes; `Constant` values shown when at most 8 elements).\n")
    lines.append("```")
    lines.append("\n\n".join(texts))
    lines.append("```")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--data", default=os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--only", default="", help="comma-separated fixture groups (default: all)")
    ap.add_argument("--readme-only", action="store_true",
                    help="rewrite README.md from the files already in --out; train nothing")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}, "
          f"numpy {np.__version__}; train {xtr.shape}, test {xte.shape}", flush=True)

    with open(os.path.join(args.out, "first16-test-images.json"), "w") as f:
        json.dump(
            {
                "source": "Fashion-MNIST t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte, first 16 "
                "images in file order (MIT licence, Zalando Research)",
                "shape": [16, 28, 28],
                "pixels_u8": [img.reshape(-1).tolist() for img in xte[:16]],
                "labels": yte[:16].tolist(),
            },
            f,
        )
        f.write("\n")

    groups = [g for g in args.only.split(",") if g] or list(FIXTURES)
    if args.readme_only:
        groups = []
    failures, summary = [], []
    for group in groups:
        ctor, seed_key, epochs, normalize, variants = FIXTURES[group]
        seed = SEEDS[seed_key]
        print(f"[{group}] seed {seed}, {epochs} epoch(s), inputs "
              f"{'standardized (x-0.2860)/0.3530' if normalize else 'in [0,1]'}", flush=True)
        torch.manual_seed(seed)
        model = ctor()
        train(model, seed, epochs, xtr, ytr, normalize)
        x = to_input(xte, normalize)
        lt = torch_logits(model, x)
        acc = float((lt.argmax(1) == yte).mean())
        for fname, kw in variants:
            path = os.path.join(args.out, fname + ".onnx")
            export(model, path, kw)
            m, ops, text = describe(path)
            lo = ort_logits(path, x)
            diff = float(np.abs(lo - lt).max())
            acc_o = float((lo.argmax(1) == yte).mean())
            ok = diff < 1e-4 and acc_o == acc
            if group == "resnet" and fname == "resnet_bn_node" and "BatchNormalization" not in ops:
                ok = False
                print("    resnet_bn_node has no BatchNormalization node", flush=True)
            if fname == "resnet_bn_folded" and "BatchNormalization" in ops:
                ok = False
                print("    resnet_bn_folded still has BatchNormalization nodes", flush=True)
            print(f"    {fname}.onnx: {os.path.getsize(path)} bytes, torch test accuracy {acc:.4f}, "
                  f"onnxruntime accuracy {acc_o:.4f}, max |logit diff| {diff:.3g} "
                  f"{'OK' if ok else 'FAIL'}; ops {ops}", flush=True)
            if not ok:
                failures.append(fname)
            expected = {
                "model": fname,
                "file": fname + ".onnx",
                "description": DESCRIPTIONS[fname],
                "input_normalization": {"mean": [MEAN], "std": [STD]} if normalize else None,
                "input_scaling": "pixels / 255 (ToTensor), NCHW (N,1,28,28) float32",
                "test_accuracy": round(acc, 6),
                "test_images": int(len(yte)),
                "first_test_logits": [[float(v) for v in row] for row in lt[:16]],
                "first_test_labels": yte[:16].tolist(),
                "opset": OPSET,
                "ops": ops,
                "export": {"exporter": "torch.onnx.export(dynamo=False) (TorchScript)",
                           **{k: str(v) for k, v in kw.items()}},
                "trained": {"seed": seed, "epochs": epochs, "optimizer": "Adam lr 1e-3, cosine decay to 0 per step",
                            "batch": 128},
                "onnxruntime": {"version": ort.__version__, "test_accuracy": round(acc_o, 6),
                                "max_abs_logit_diff_vs_torch": diff},
                "torch_version": torch.__version__,
                "onnx_version": onnx.__version__,
            }
            with open(os.path.join(args.out, fname + ".expected.json"), "w") as f:
                json.dump(expected, f, indent=1)
                f.write("\n")
            summary.append((fname, os.path.getsize(path), acc, acc_o, diff, ops))

    # README.md (table + every graph's node list) is rewritten from the files on disk, so a
    # partial --only run keeps the others
    names = sorted(n[:-5] for n in os.listdir(args.out) if n.endswith(".onnx"))
    write_readme(args.out, names, xte)

    print("\nsummary:")
    for fname, size, acc, acc_o, diff, ops in summary:
        print(f"  {fname:<20} {size:>8} B  torch acc {acc:.4f}  ort acc {acc_o:.4f}  "
              f"max diff {diff:.2e}  {' '.join(ops)}")
    total = sum(os.path.getsize(os.path.join(args.out, n + ".onnx")) for n in names)
    print(f"  total .onnx size {total} bytes")
    if failures:
        print("FAILED:", failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
