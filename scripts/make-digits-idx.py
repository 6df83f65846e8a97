#!/usr/bin/env python3
"""scikit-learn's digits (UCI optdigits: 1,797 handwritten digits, 8x8, values 0-16) as an
MNIST-format directory: each digit resized to 20x20 (bilinear) in a 28x28 field, as MNIST
centres its digits, pixels 0-255; a seeded 80/20 split (1,437 training, 360 test images).

    pip download scikit-learn --no-deps -d /tmp/skl && (cd /tmp/skl && unzip -o *.whl 'sklearn/datasets/data/digits.csv.gz')
    scripts/make-digits-idx.py /tmp/skl/sklearn/datasets/data/digits.csv.gz /tmp/digits
    strata train --model lenet5-1998 --data /tmp/digits
"""
import gzip, os, random, struct, sys

src, out = sys.argv[1], sys.argv[2]
rows = [list(map(int, line.split(","))) for line in gzip.open(src, "rt") if line.strip()]
size, field = 20, 28


def resize(img):
    """8x8 -> size x size, bilinear on pixel centres, 0-16 -> 0-255, placed in the field."""
    big = [0] * (field * field)
    pad = (field - size) // 2
    for y in range(size):
        fy = min(max((y + 0.5) * 8 / size - 0.5, 0), 7)
        y0 = int(fy); y1 = min(y0 + 1, 7); wy = fy - y0
        for x in range(size):
            fx = min(max((x + 0.5) * 8 / size - 0.5, 0), 7)
            x0 = int(fx); x1 = min(x0 + 1, 7); wx = fx - x0
            v = (img[y0 * 8 + x0] * (1 - wy) * (1 - wx) + img[y0 * 8 + x1] * (1 - wy) * wx
                 + img[y1 * 8 + x0] * wy * (1 - wx) + img[y1 * 8 + x1] * wy * wx)
            big[(y + pad) * field + x + pad] = min(255, round(v * 255 / 16))
    return big


order = list(range(len(rows)))
random.Random(1).shuffle(order)
n_train = len(rows) * 4 // 5
os.makedirs(out, exist_ok=True)
for part, idx in (("train", order[:n_train]), ("t10k", order[n_train:])):
    with gzip.open(os.path.join(out, f"{part}-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(idx), field, field))
        for i in idx:
            f.write(bytes(resize(rows[i][:64])))
    with gzip.open(os.path.join(out, f"{part}-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(idx)))
        f.write(bytes(rows[i][64] for i in idx))
print(f"wrote {out}: {n_train} training and {len(rows) - n_train} test images, 28x28")
