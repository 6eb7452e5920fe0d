"""The pictures of the docs, drawn with matplotlib (Agg) when the docs are built.

* ``masks-<scope>-<name>.png``: each installed masker's masks over an example it
  is made for (a grid masker over scikit-learn's bundled digits, a video masker
  over a ``moving_digits`` clip, a sequence masker over a generated two-channel
  series, the text ``span`` masker over the bytes of a few sentences), context and
  target blocks in distinct colours. ``_generated/masks/<scope>-<name>.md`` holds
  its figure (or says the masker is not installed) for the guides to include;
  ``_generated/maskers.md`` shows every installed masker on the concepts page.
* ``training.png``: the plot ``jepa train`` writes (``training.png`` of the run
  directory) for 300 steps of the ``sequences`` starter, trained here. The run
  is redone only when the starter, the overrides or jepa-core's code change.
* ``benchmarks-quality.png``: the representation-quality table of
  ``benchmarks/results/results.json`` as a bar chart (read, not recomputed).

Nothing is downloaded: the digits ship with scikit-learn, the rest is generated.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONTEXT = "#4c72b0"
TARGETS = ("#dd8452", "#c44e52", "#55a868", "#8172b3", "#937860", "#da8bc3", "#ccb974", "#64b5cd")
UNUSED = "#9a9a9a"
FIGURE_WIDTH = 8.0  # inches; the page shows it at its content width

#: How each first-party masker is drawn: the example it suits and the size
#: parameters it needs (everything else keeps its default). Other maskers are
#: tried as a sequence masker, then as a grid masker.
KNOWN: dict[str, tuple[str, dict[str, Any]]] = {
    "jepa:random": ("series", {"num_tokens": 16}),
    "vision:multiblock": ("image", {"grid": [16, 16]}),
    "vision:tube": ("video", {"grid": [4, 4, 4]}),  # the video starter's grid
    "timeseries:time_block": ("series", {"num_tokens": 16}),
    "timeseries:forecast": ("series", {"num_tokens": 16}),
    "text:span": ("text", {"num_tokens": 40}),
}
FALLBACKS: tuple[tuple[str, dict[str, Any]], ...] = (("series", {"num_tokens": 16}), ("image", {"grid": [16, 16]}))
SENTENCES = ("a joint embedding predicts embeddings", "the quick brown fox jumps over", "spans become targets")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> None:
    figure.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(figure)


def roles(masks: Any, num_tokens: int) -> Any:
    """``(B, N)`` array: -1 for a token in no set, 0 in the context, k + 1 in target block k."""
    import numpy as np

    role = np.full((masks.batch_size, num_tokens), -1)
    for k, block in enumerate(masks.targets):
        np.put_along_axis(role, block.cpu().numpy(), k + 1, axis=1)
    np.put_along_axis(role, masks.context.cpu().numpy(), 0, axis=1)
    return role


def _colour(role: int) -> str:
    return UNUSED if role < 0 else CONTEXT if role == 0 else TARGETS[(role - 1) % len(TARGETS)]


def _rgba(role: Any, hidden_alpha: float = 0.75) -> Any:
    """An RGBA overlay for an array of roles: context and targets tinted, unused greyed."""
    import numpy as np
    from matplotlib.colors import to_rgba

    overlay = np.zeros((*role.shape, 4))
    for value in np.unique(role):
        rgba = to_rgba(_colour(int(value)), 0.4 if value == 0 else hidden_alpha if value < 0 else 0.6)
        overlay[role == value] = rgba
    return overlay


def _legend(figure: Any, num_targets: int, unused: bool) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=CONTEXT, alpha=0.6, label="context")]
    handles += [
        Patch(color=TARGETS[k % len(TARGETS)], label=f"target block {k + 1}" if num_targets > 1 else "target")
        for k in range(num_targets)
    ]
    if unused:
        handles.append(Patch(color=UNUSED, label="neither (dropped)"))
    figure.legend(
        handles=handles,
        loc="lower center",
        ncol=min(len(handles), 6),
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
        fontsize=9,
    )


def _digits(count: int) -> Any:
    from sklearn.datasets import load_digits

    return load_digits().images[:count] / 16.0


def draw_image(masker: Any, generator: Any) -> tuple[Any, str]:
    import torch
    import torch.nn.functional as F

    height, width = masker.grid
    images = torch.as_tensor(_digits(4), dtype=torch.float32)[:, None]
    images = F.interpolate(images, size=(4 * height, 4 * width), mode="bilinear", align_corners=False)[:, 0]
    masks = masker(4, generator=generator)
    role = roles(masks, height * width).reshape(4, height, width)
    plt = _pyplot()
    figure, axes = plt.subplots(1, 4, figsize=(FIGURE_WIDTH, 2.5))
    for index, axis in enumerate(axes):
        axis.imshow(images[index].numpy(), cmap="gray_r", extent=(0, width, height, 0), interpolation="bilinear")
        axis.imshow(_rgba(role[index]), extent=(0, width, height, 0), interpolation="nearest")
        axis.set_xticks(range(width + 1), labels=[])
        axis.set_yticks(range(height + 1), labels=[])
        axis.tick_params(length=0)
        axis.grid(color="white", linewidth=0.3, alpha=0.6)
        axis.set_title(f"sample {index + 1}", fontsize=9)
    _legend(figure, len(masks.targets), bool((role < 0).any()))
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure, (
        f"a {height}x{width} token grid over four of scikit-learn's 8x8 digits "
        f"(shown enlarged), one batch of four samples"
    )


def draw_video(masker: Any, generator: Any) -> tuple[Any, str]:
    import jepa

    frames, height, width = masker.grid
    dataset = jepa.list_components("dataset", "vision:moving_digits")[0].create(
        {"split": "test", "frames_per_clip": 8, "image_size": 16, "normalize": False}
    )
    clip = dataset[0][0][0].numpy()  # (T, H, W)
    masks = masker(1, generator=generator)
    role = roles(masks, frames * height * width).reshape(frames, height, width)
    per_token = clip.shape[0] // frames
    plt = _pyplot()
    figure, axes = plt.subplots(1, clip.shape[0], figsize=(FIGURE_WIDTH, 1.5))
    for index, axis in enumerate(axes):
        axis.imshow(clip[index], cmap="gray_r", extent=(0, width, height, 0), interpolation="nearest")
        axis.imshow(_rgba(role[index // per_token]), extent=(0, width, height, 0), interpolation="nearest")
        axis.set_axis_off()
        axis.set_title(f"frame {index + 1}", fontsize=8)
    _legend(figure, len(masks.targets), bool((role < 0).any()))
    figure.tight_layout(rect=(0, 0.14, 1, 1))
    return figure, (
        f"a {frames}x{height}x{width} token grid ({per_token}x{clip.shape[1] // height}x"
        f"{clip.shape[2] // width} tubelets) over an {clip.shape[0]}-frame 16x16 moving_digits clip"
    )


def draw_series(masker: Any, generator: Any) -> tuple[Any, str]:
    import numpy as np

    tokens = masker.num_tokens
    steps_per_token = 4
    time = np.arange(tokens * steps_per_token)
    series = np.stack([np.sin(2 * np.pi * time / 23), 0.6 * np.cos(2 * np.pi * time / 41 + 1.0)])
    masks = masker(3, generator=generator)
    role = roles(masks, tokens)
    plt = _pyplot()
    figure, axes = plt.subplots(3, 1, figsize=(FIGURE_WIDTH, 3.6), sharex=True)
    for index, axis in enumerate(axes):
        for token in range(tokens):
            value = int(role[index, token])
            axis.axvspan(
                token * steps_per_token - 0.5,
                (token + 1) * steps_per_token - 0.5,
                color=_colour(value),
                alpha=0.3 if value == 0 else 0.55 if value > 0 else 0.25,
                linewidth=0,
                hatch="//" if value < 0 else None,
            )
        for channel in series:
            axis.plot(time, channel, color="black", linewidth=1.0)
        axis.set_ylabel(f"sample {index + 1}", fontsize=8)
        axis.set_yticks([])
        axis.set_xlim(-0.5, len(time) - 0.5)
    axes[-1].set_xlabel("time step")
    _legend(figure, len(masks.targets), bool((role < 0).any()))
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure, (
        f"{tokens} tokens of {steps_per_token} steps each over a generated two-channel series, "
        f"one batch of three samples"
    )


def draw_text(masker: Any, generator: Any) -> tuple[Any, str]:
    import torch

    tokens = masker.num_tokens
    rows = [sentence.encode("utf-8")[:tokens] for sentence in SENTENCES]
    padding = torch.tensor([[i >= len(row) for i in range(tokens)] for row in rows])
    if "padding_mask" in inspect.signature(masker.__call__).parameters:
        masks = masker(len(rows), generator=generator, padding_mask=padding)
    else:
        masks = masker(len(rows), generator=generator)
    role = roles(masks, tokens)
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(FIGURE_WIDTH, 0.45 * len(rows) + 0.9))
    for row, data in enumerate(rows):
        for i in range(tokens):
            value = int(role[row, i])
            padded = bool(padding[row, i])
            axis.add_patch(
                plt.Rectangle(
                    (i, row),
                    0.94,
                    0.9,
                    color="#eeeeee" if padded else _colour(value),
                    alpha=1.0 if padded else 0.35 if value == 0 else 0.8 if value > 0 else 0.4,
                    linewidth=0,
                )
            )
            label = "·" if padded else chr(data[i]) if 32 <= data[i] < 127 else "?"
            axis.text(
                i + 0.47,
                row + 0.47,
                label,
                ha="center",
                va="center",
                fontsize=8,
                family="monospace",
                color="#999999" if padded else "black",
            )
    axis.set_xlim(0, tokens)
    axis.set_ylim(len(rows), 0)
    axis.set_axis_off()
    _legend(figure, len(masks.targets), bool(((role < 0) & ~padding.numpy()).any()))
    figure.tight_layout(rect=(0, 0.2, 1, 1))
    return figure, (
        f"the bytes of three sentences, {tokens} tokens with padding (the dots, never a target), "
        f"one batch of three samples"
    )


DRAWERS: dict[str, Callable[[Any, Any], tuple[Any, str]]] = {
    "image": draw_image,
    "video": draw_video,
    "series": draw_series,
    "text": draw_text,
}


def _slug(qualname: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", qualname.lower()).strip("-")


def draw_masker(component: Any, figures: Path) -> tuple[str, str, str] | None:
    """Draw one masker; return ``(png name, alt text, caption)``, or None when it
    fits none of the examples."""
    import torch

    qualname = component.qualname
    known = qualname in KNOWN
    for example, params in [KNOWN[qualname]] if known else FALLBACKS:
        try:
            masker = component.create(dict(params))
            figure, shown_on = DRAWERS[example](masker, torch.Generator().manual_seed(0))
        except ImportError:  # an optional dependency of the example (scikit-learn) is missing
            return None
        except Exception:
            if known:  # a first-party masker that no longer draws is a docs bug: say so
                raise
            continue  # a third-party masker made for another kind of example
        name = f"masks-{_slug(qualname)}.png"
        _save(figure, figures / name)
        given = ", ".join(f"{key}={value}" for key, value in params.items())
        alt = (
            f"Masks of the {qualname} masker on {shown_on}: context tokens in blue, each target "
            f"block in its own colour, tokens in neither in grey."
        )
        caption = (
            f"`{qualname}` with its defaults and {given}, on {shown_on}. Blue: the context the "
            f"encoder sees; other colours: the target blocks the predictor predicts; grey: in neither."
        )
        return name, alt, caption
    return None


def figure_markdown(path: str, alt: str, caption: str) -> str:
    return "\n".join([f"```{{figure}} {path}", f":alt: {alt}", ":width: 100%", "", caption, "```", ""])


def masker_pages(figures: Path) -> dict[str, str]:
    """``{relative path: markdown}``: one snippet per known or installed masker and
    the concepts page's gallery of every installed one."""
    import jepa

    snippets: dict[str, str] = {}
    gallery = ["<!-- generated by docs/_ext/jepa_figures.py: one picture per installed masker -->", ""]
    installed = {component.qualname: component for component in jepa.list_components("masker")}
    for qualname in sorted(set(KNOWN) | set(installed)):
        component = installed.get(qualname)
        drawn = draw_masker(component, figures) if component is not None else None
        if drawn is None:
            why = "is not installed" if component is None else "could not be drawn (no example fits it)"
            text = f"*`{qualname}` {why} where these docs were built, so its masks are not drawn here.*\n"
        else:
            name, alt, caption = drawn
            text = figure_markdown(f"/_generated/figures/{name}", alt, caption)
        snippets[f"masks/{_slug(qualname)}.md"] = text
        if component is not None:
            gallery += [
                f"### `{qualname}`",
                "",
                (component.doc or "").strip().splitlines()[0] if component.doc else "",
                "",
                text,
            ]
    snippets["maskers.md"] = "\n".join(gallery)
    return snippets


TRAINING_OVERRIDES = (
    "train.steps=300",
    "train.checkpoint_every=0",
    "train.progress=false",
    "train.device=cpu",
    "train.plot=true",
)


def _training_key() -> str:
    """What the training picture depends on: the starter, the overrides and jepa-core's code."""
    import jepa_core

    digest = hashlib.sha256("\n".join(TRAINING_OVERRIDES).encode())
    for path in sorted(Path(jepa_core.__file__).parent.rglob("*")):
        if path.suffix in {".py", ".yaml"}:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def training_figure(figures: Path) -> str:
    """``training.png``: the plot of a real 300-step run of the sequences starter."""
    import os

    from jepa_core.runs import load_run_spec, train_run, write_template

    png, key_file = figures / "training.png", figures / "training.key"
    key = _training_key()
    if png.is_file() and key_file.is_file() and key_file.read_text() == key:
        return png.name
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            config = write_template("sequences", "sequences.yaml")
            spec = load_run_spec(config, TRAINING_OVERRIDES)
            run_dir = train_run(spec.model_copy(update={"eval": None}), run_dir="runs/sequences")
            (run_dir / "training.png").replace(png)
        finally:
            os.chdir(here)
    key_file.write_text(key)
    return png.name


def _score(cell: Any) -> tuple[float, float] | None:
    """``"0.951 ± 0.003"`` -> (0.951, 0.003); ``"0.940"`` -> (0.94, 0.0); ``"-"`` -> None."""
    numbers = re.findall(r"\d+\.\d+", str(cell))
    if not numbers:
        return None
    return float(numbers[0]), float(numbers[1]) if len(numbers) > 1 else 0.0


def quality_chart(results: Path, figures: Path) -> str | None:
    """``benchmarks-quality.png`` from the quality suite of results.json; the
    markdown of its figure, or None when there is no such table."""
    if not results.is_file():
        return None
    suite = json.loads(results.read_text(encoding="utf-8")).get("suites", {}).get("quality")
    if not suite or not suite.get("rows"):
        return None
    rows = suite["rows"]
    series = (("JEPA", "JEPA", CONTEXT), ("random init", "random init", TARGETS[0]), ("raw input", "raw input", UNUSED))
    plt = _pyplot()
    height = 0.26
    figure, axis = plt.subplots(figsize=(FIGURE_WIDTH, 0.75 * len(rows) + 1.0))
    for offset, (key, label, colour) in enumerate(series):
        for index, row in enumerate(rows):
            score = _score(row.get(key))
            if score is None:
                continue
            y = index + (offset - 1) * height
            axis.barh(
                y,
                score[0],
                height=height,
                xerr=score[1] or None,
                color=colour,
                capsize=2,
                label=label if index == 0 or all(_score(r.get(key)) is None for r in rows[:index]) else None,
            )
            axis.text(score[0] + score[1] + 0.01, y, f"{score[0]:.3f}", va="center", fontsize=7)
    axis.set_yticks(range(len(rows)), labels=[f"{row['recipe']}\n{row['protocol']}" for row in rows], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, 1.08)
    axis.set_xlabel("held-out accuracy")
    axis.grid(axis="x", alpha=0.3)
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=9)
    figure.tight_layout()
    _save(figure, figures / "benchmarks-quality.png")
    alt = (
        "Bar chart of held-out accuracy per recipe and probe: the JEPA-pretrained encoder, the same encoder "
        "with random weights, and the raw input, from benchmarks/results/results.json."
    )
    caption = (
        "The representation-quality table below, drawn: held-out accuracy of each recipe's pretrained "
        "encoder against the same encoder with random weights and the raw input (error bars: standard "
        f"deviation over training seeds; measured {suite.get('date', '')})."
    )
    return figure_markdown("/_generated/figures/benchmarks-quality.png", alt, caption)


def with_quality_chart(page: str, chart: str | None) -> str:
    """The benchmarks page with the chart right after the quality table."""
    if chart is None:
        return page
    lines = page.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("## Representation quality"))
        table = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
        end = next((i for i in range(table, len(lines)) if not lines[i].startswith("|")), len(lines))
    except StopIteration:
        return page + "\n" + chart
    return "\n".join(lines[:end] + ["", chart] + lines[end:])
