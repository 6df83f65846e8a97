#!/usr/bin/env python3
"""Reads a TensorBoard log folder with TensorBoard's own reader (EventAccumulator) and prints
what it found as one JSON object: scalars {tag: [[step, value], ...]}, histograms
{tag: [[step, num, min, max, sum]]}, images {tag: [[step, width, height, png_bytes]]}.
crates/strata-cli/tests/tensorboard.rs runs it in .venv-tensorboard (make tensorboard-venv).

    .venv-tensorboard/bin/python scripts/tensorboard-read.py LOGDIR
"""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator as ea

acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0})
acc.Reload()
tags = acc.Tags()
out = {
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
    "histograms": {
        t: [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max, e.histogram_value.sum]
            for e in acc.Histograms(t)]
        for t in tags["histograms"]
    },
    "images": {
        t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)] for t in tags["images"]
    },
}
print(json.dumps(out))
