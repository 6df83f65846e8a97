#!/usr/bin/env bash
# Rebuilds fuzz/seeds/<target>/ (committed): small valid inputs for each fuzz target, from
# the test fixtures (crates/strata/tests/data), IDX files, pictures, tiny saved models and
# spec files. Needs python3, a Python with Pillow for the pictures (PYTHON=..., default
# python3), and a strata binary (STRATA=path/to/strata, default target/release/strata:
# `cargo build --release -p strata-cli`).
#
# Several targets read a first "mode" byte that picks how the rest is used (see the
# target's source); seeds carry it.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=..
STRATA=${STRATA:-$ROOT/target/release/strata}
PYTHON=${PYTHON:-python3}
DATA=$ROOT/crates/strata/tests/data
S=seeds
rm -rf "$S" && mkdir -p "$S"/{idx,csv,arff,image,model,spec}
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT

# csv: mode byte 0 (.csv) or 1 (.tsv), then the file. breast_cancer.csv and wine.csv are
# cut to their first rows to keep the seeds small.
prefix() { { printf "\\x$(printf %02x "$1")"; cat; } > "$2"; }
prefix 0 "$S/csv/iris.csv" < "$DATA/iris.csv"
prefix 0 "$S/csv/quoted.csv" < "$DATA/quoted.csv"
head -n 12 "$DATA/wine.csv" | prefix 0 "$S/csv/wine-head.csv"
head -n 8 "$DATA/breast_cancer.csv" | prefix 0 "$S/csv/breast_cancer-head.csv"
head -n 20 "$DATA/iris.csv" | tr ',' '\t' | prefix 1 "$S/csv/iris-head.tsv"
printf '\x00x,colour,label\n1.5,red,yes\n?,"blue, dark",no\nNA,,yes\n' > "$S/csv/missing.csv"

# arff: the file as it is.
cp "$DATA/iris.arff" "$DATA/iris_missing.arff" "$S/arff/"
printf "%% c\n@RELATION 'my data'\n@ATTRIBUTE 'a b' REAL\n@attribute c {'x y', z}\n@DATA\n1, 'x y'\n?,z\n" > "$S/arff/quoted.arff"

# idx: mode byte 0 (the file as it is) or 1 (the rest is gzip-compressed by the target).
python3 - "$S/idx" <<'PY'
import gzip, struct, sys
out = sys.argv[1]
def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
u8_images = idx(0x08, [3, 4, 4], bytes((i * 7) % 256 for i in range(48)))
u8_labels = idx(0x08, [5], bytes([0, 1, 2, 1, 0]))
i8 = idx(0x09, [2, 3], bytes([0, 1, 0x80, 0xff, 7, 9]))
i16 = idx(0x0B, [3], struct.pack(">3h", -2, 0, 300))
i32 = idx(0x0C, [2, 1], struct.pack(">2i", -70000, 5))
f32 = idx(0x0D, [2, 2], struct.pack(">4f", 0.5, -1.0, 3.25, 1e-3))
f64 = idx(0x0E, [1, 2], struct.pack(">2d", 2.5, -0.125))
empty = idx(0x08, [0, 28, 28], b"")
for name, b in [("images-u8", u8_images), ("labels-u8", u8_labels), ("i8", i8), ("i16", i16),
                ("i32", i32), ("f32", f32), ("f64", f64), ("empty", empty)]:
    open(f"{out}/{name}-raw", "wb").write(b"\x00" + b)
    open(f"{out}/{name}-gzip-by-target", "wb").write(b"\x01" + b)
for name, b in [("images-u8", u8_images), ("labels-u8", u8_labels), ("f32", f32)]:
    open(f"{out}/{name}.gz", "wb").write(b"\x00" + gzip.compress(b, mtime=0))
PY

# image: mode byte = extension (bits 0-2: png jpg jpeg pgm ppm pnm idx PNG) + 8 * shape
# (bits 3-4: 1x28x28, 3x8x8, 784, 2x1x1), then the file.
"$PYTHON" - "$S/image" <<'PY'
import io, sys
from PIL import Image
out = sys.argv[1]
rgb = Image.new("RGB", (8, 6))
rgb.putdata([(x * 32, y * 40, 255 - x * 32) for y in range(6) for x in range(8)])
gray = rgb.convert("L")
def save(name, mode, img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    open(f"{out}/{name}", "wb").write(bytes([mode]) + b.getvalue())
save("rgb.png", 0, rgb, "PNG")
save("gray.png", 8, gray, "PNG")
save("gray16.png", 16, gray.convert("I;16"), "PNG")
save("rgba.png", 0, rgb.convert("RGBA"), "PNG")
save("palette.png", 24, rgb.convert("P"), "PNG")
save("rgb.jpg", 1, rgb, "JPEG", quality=50)
save("progressive.jpg", 10, gray, "JPEG", progressive=True)
save("binary.pgm", 27, gray, "PPM")
save("binary.ppm", 12, rgb, "PPM")
open(f"{out}/ascii.pgm", "wb").write(bytes([3]) + b"P2\n4 2\n255\n0 64 128 255\n255 128 64 0\n")
PY
python3 - "$S/image" <<'PY'
import struct, sys
hdr = bytes([0, 0, 8, 4]) + struct.pack(">4I", 2, 2, 1, 1)
open(f"{sys.argv[1]}/idx-2x2x1x1", "wb").write(bytes([6 + 8 * 3]) + hdr + bytes([0, 64, 128, 255]))
PY

# spec: spec files covering every layer type.
cat > "$S/spec/readme.toml" <<'TOML'
name = "mynet"
[[layers]]
type = "conv2d"
filters = 4
kernel = 3
padding = "same"
activation = "relu"
[[layers]]
type = "pool2d"
pool = "max"
window = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 16
activation = "relu"
[[layers]]
type = "dropout"
rate = 0.5
[[layers]]
type = "dense"
units = 10
[training]
optimizer = "sgd"
lr = 0.05
momentum = 0.9
epochs = 10
TOML
cat > "$S/spec/graph.toml" <<'TOML'
input = [1, 28, 28]
loss = "softmax_cross_entropy"
[[layers]]
type = "conv2d"
filters = 4
kernel = [3, 5]
stride = 2
padding = 1
dilation = 1
[[layers]]
type = "batch_norm"
momentum = 0.01
[[layers]]
type = "residual"
body = [
    { type = "conv2d", filters = 4, kernel = 3, padding = 1, use_bias = false },
    { type = "batch_norm" },
]
[[layers]]
type = "concat"
branches = [
    [{ type = "conv2d", filters = 2, kernel = 1 }],
    [{ type = "pool2d", pool = "max", window = 3, stride = 1, padding = 1 }],
]
[[layers]]
type = "local_response_norm"
size = 5
k = 2.0
[[layers]]
type = "block"
layers = [{ type = "pool2d", pool = "avg", window = 2 }, { type = "upsample2d", factor = 2 }]
[[layers]]
type = "locally_connected2d"
filters = 2
kernel = 3
activation = "tanh"
[[layers]]
type = "global_avg_pool2d"
[[layers]]
type = "flatten"
[[layers]]
type = "maxout"
units = 4
pieces = 2
[[layers]]
type = "dense"
units = 10
activation = "softmax"
TOML
cat > "$S/spec/recurrent.toml" <<'TOML'
name = "seq"
[[layers]]
type = "unflatten"
shape = [28, 28]
[[layers]]
type = "noise"
noise = "mask"
amount = 0.25
[[layers]]
type = "lstm"
units = 8
return_sequences = true
[[layers]]
type = "gru"
units = 4
layers = 2
[[layers]]
type = "activation"
activation = "leaky_relu:0.1"
[[layers]]
type = "dense"
units = 10
[training]
optimizer = "adam"
lr = 0.001
schedule = "step:2:0.5"
TOML
cat > "$S/spec/embedding.toml" <<'TOML'
[[layers]]
type = "flatten"
[[layers]]
type = "embedding"
vocab = 100
dim = 2
[[layers]]
type = "rnn"
units = 4
activation = "relu"
[[layers]]
type = "dense"
units = 10
TOML

# model: tiny saved models (a dense and a convolutional network on 4x4 images, a network
# on a table), each model.safetensors with its description embedded.
mkdir -p "$TMP/mnist"
python3 - "$TMP/mnist" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + payload
px = bytes((i * 7) % 256 for i in range(12 * 16))
labels = bytes(i % 3 for i in range(12))
open(f"{d}/train-images-idx3-ubyte.gz", "wb").write(gzip.compress(idx([12, 4, 4], px)))
open(f"{d}/train-labels-idx1-ubyte.gz", "wb").write(gzip.compress(idx([12], labels)))
open(f"{d}/t10k-images-idx3-ubyte", "wb").write(idx([4, 4, 4], px[:64]))
open(f"{d}/t10k-labels-idx1-ubyte", "wb").write(idx([4], labels[:4]))
PY
cat > "$TMP/dense.toml" <<'TOML'
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 4
activation = "relu"
[[layers]]
type = "dense"
units = 3
TOML
cat > "$TMP/conv.toml" <<'TOML'
[[layers]]
type = "conv2d"
filters = 2
kernel = 3
padding = "same"
activation = "relu"
[[layers]]
type = "batch_norm"
[[layers]]
type = "pool2d"
pool = "max"
window = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
TOML
train() { "$STRATA" train --quiet --epochs 1 --seed 1 "$@" >/dev/null; }
train --model "$TMP/dense.toml" --data "$TMP/mnist" --out "$TMP/dense"
train --model "$TMP/conv.toml" --data "$TMP/mnist" --out "$TMP/conv"
train --model "$TMP/dense.toml" --data "$DATA/iris.csv" --target species --out "$TMP/iris"
for m in dense conv iris; do cp "$TMP/$m/model.safetensors" "$S/model/$m.safetensors"; done

du -sh "$S"/*
