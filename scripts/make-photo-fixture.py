#!/usr/bin/env python3
"""Writes crates/strata/tests/data/photos/: ten small photographs (64x64 PNG, centre crop
of each) from the sample images scikit-image ships, one per class of the natural-photo
folders the tests and BENCHMARKS.md cut patches from.

Needs Pillow, and scikit-image's data folder: an installed scikit-image
(`pip install --user scikit-image`), or `--from DIR` pointing at `skimage/data` of an
unpacked wheel (`pip download --no-deps scikit-image`, then unzip it).

Licences (scikit-image's `skimage/data/_fetchers.py`): astronaut, hubble_deep_field and
rocket are public domain (NASA, SpaceX); chelsea, coffee, retina, brick, grass and gravel
are CC0; immunohistochemistry has "no known copyright restrictions". The motorcycle
photographs (Middlebury) are left out.
"""
import argparse
import os
from PIL import Image

PHOTOS = ["astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png",
          "gravel.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg", "rocket.jpg"]
SIDE = 64


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="src", help="skimage/data folder (default: the installed scikit-image's)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "crates/strata/tests/data/photos"))
    a = p.parse_args()
    src = a.src
    if src is None:
        import skimage
        src = os.path.join(os.path.dirname(skimage.__file__), "data")
    os.makedirs(a.out, exist_ok=True)
    for name in PHOTOS:
        img = Image.open(os.path.join(src, name))
        img = img.convert("RGB" if img.mode not in ("L", "I;16") else "L")
        w, h = img.size
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((SIDE, SIDE), Image.LANCZOS)
        out = os.path.join(a.out, os.path.splitext(name)[0] + ".png")
        img.save(out, optimize=True)
        print(out, img.mode, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
