"""Write an image folder the vision recipe was never tuned on: coloured shapes.

Five classes (circle, square, triangle, cross, ring), 320 RGB images of 32x32 each by
default: a shape of random size (9-16 pixels) at a random place, in a random colour
on a random background colour (far enough apart to be seen), plus Gaussian pixel
noise. Colour and position say nothing about the class, so raw pixels barely beat
chance; the shape's outline is all there is. Seeded: the same folder every time.

    python examples/shapes_folder.py shapes
    jepa init vision
    jepa train vision.yaml --run-dir runs/shapes \\
        --set 'data={name: image_folder, params: {root: shapes, split: train, image_size: 32}}' \\
        --set 'eval.train={name: image_folder, params: {root: shapes, split: train, image_size: 32}}' \\
        --set 'eval.test={name: image_folder, params: {root: shapes, split: test, image_size: 32}}' \\
        --set eval.shots=null --set model.encoder.params.input_channels=3 \\
        --set model.encoder.params.image_size=32 --set 'model.encoder.params.widths=[32,64,128,128]'

(the changes the vision guide's "Your own images" names, nothing tuned for this data;
``--set train.seed=S`` for another training seed).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle", "cross", "ring")


def draw(shape: str, rng: np.random.Generator, size: int = 32) -> Image.Image:
    """One noisy RGB image of ``shape``."""
    background = tuple(int(v) for v in rng.integers(0, 256, 3))
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    while sum(abs(a - b) for a, b in zip(background, colour, strict=True)) < 150:
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    image = Image.new("RGB", (size, size), background)
    pen = ImageDraw.Draw(image)
    side = int(rng.integers(9, 17))
    x = int(rng.integers(1, size - side))
    y = int(rng.integers(1, size - side))
    box = [x, y, x + side, y + side]
    if shape == "circle":
        pen.ellipse(box, fill=colour)
    elif shape == "ring":
        pen.ellipse(box, outline=colour, width=2)
    elif shape == "square":
        pen.rectangle(box, fill=colour)
    elif shape == "triangle":
        pen.polygon([(x, y + side), (x + side, y + side), (x + side // 2, y)], fill=colour)
    else:  # a cross: two bars through the middle
        half, bar = side // 2, max(2, side // 4)
        pen.rectangle([x + half - bar // 2, y, x + half + bar // 2, y + side], fill=colour)
        pen.rectangle([x, y + half - bar // 2, x + side, y + half + bar // 2], fill=colour)
    noisy = np.asarray(image).astype(np.float32) + rng.normal(0, 12, (size, size, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def write_shapes(root: str | Path, per_class: int = 320, seed: int = 123) -> Path:
    """``root/<class>/<i>.png`` for every class; returns ``root``."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for shape in CLASSES:
        (root / shape).mkdir(parents=True, exist_ok=True)
    for shape in CLASSES:
        for i in range(per_class):
            draw(shape, rng).save(root / shape / f"{i}.png")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("root", help="the folder to write (class sub-folders of PNGs)")
    parser.add_argument("--per-class", type=int, default=320, help="images per class")
    parser.add_argument("--seed", type=int, default=123, help="the generator's seed")
    args = parser.parse_args(argv)
    root = write_shapes(args.root, args.per_class, args.seed)
    print(f"wrote {args.per_class * len(CLASSES)} images in {len(CLASSES)} classes to {root}")


if __name__ == "__main__":
    main()
