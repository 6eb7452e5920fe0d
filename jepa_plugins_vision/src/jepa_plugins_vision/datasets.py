"""Datasets ``image_array``, ``image_folder`` and ``digits``.

Each factory returns a map-style :class:`torch.utils.data.Dataset` whose items
are float images ``(C, H, W)``, or ``(image, label)`` with an int label when the
data is labelled (then ``num_classes`` and ``classes`` say what labels mean).
Augmentation draws from a generator seeded by ``(seed, epoch, index)``: the same
seed gives the same items in any worker order; ``jepa.Trainer`` calls ``set_epoch``
at each epoch for fresh crops (a loop of your own calls it itself).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from jepa import install_command
from jepa.evaluation import SPLIT_NAMES
from jepa.limits import MAX_WIDTH, Seed, format_bytes, memory_budget
from pydantic import Field
from torch.utils.data import Dataset

from jepa_plugins_vision._types import FractionRange, ImageSize, pair
from jepa_plugins_vision.transforms import Compose, Transform, image_transform, resize

Split = Literal["all", "train", "test"]
TestFraction = Annotated[float, Field(gt=0.0, lt=1.0)]
#: One value per image channel (a normalisation mean or std).
ChannelValues = Annotated[tuple[float, ...], Field(min_length=1, max_length=MAX_WIDTH)]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Pillow's integer modes wider than 8 bits, and the largest value each type holds:
#: ``convert("L")``/``("RGB")`` would clip their values at 255 (a 16-bit image reads white).
WIDE_INTEGER_MODES = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0, "I": 2147483647.0}


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator seeded from ``(seed, epoch, index)`` (a SplitMix-style mix, so that
    neighbouring seeds, epochs and indices give unrelated streams)."""
    value = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) % (1 << 63)
    return torch.Generator().manual_seed(value)


def split_indices(
    count: int, split: str, test_fraction: float, seed: int, labels: Sequence[int] | None = None
) -> torch.Tensor:
    """Indices of ``split`` in a seeded random train/test partition of ``count`` items.

    With ``labels`` the partition is stratified: each class gives ``round(test_fraction
    * n)`` of its ``n`` items to the test split but keeps at least one for training, so
    a small folder's test split cannot miss a class the train split has, nor the other
    way round (a class of one item stays in train)."""
    if split == "all":
        return torch.arange(count)
    generator = torch.Generator().manual_seed(seed)
    if labels is None:
        order = torch.randperm(count, generator=generator)
        test_count = max(1, round(count * test_fraction))
        chosen = order[:test_count] if split == "test" else order[test_count:]
        return chosen.sort().values
    label_tensor = torch.as_tensor(list(labels), dtype=torch.long)
    in_test = torch.zeros(count, dtype=torch.bool)
    largest: torch.Tensor | None = None
    for label in label_tensor.unique().tolist():
        members = (label_tensor == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        in_test[members[: min(round(len(members) * test_fraction), len(members) - 1)]] = True
        if largest is None or len(members) > len(largest):
            largest = members
    if not in_test.any() and largest is not None and len(largest) > 1:
        in_test[largest[0]] = True  # at least one test item, as without labels
    return (in_test if split == "test" else ~in_test).nonzero().flatten()


class _SeededImages(Dataset):
    """Shared item logic: load image ``i``, apply the transform with its own generator."""

    def __init__(
        self,
        labels: torch.Tensor | None,
        transform: Transform | None,
        seed: int,
        classes: Sequence[str] | None,
    ) -> None:
        self.labels = labels
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        if labels is not None:
            self.classes = list(classes) if classes is not None else [str(c) for c in range(int(labels.max()) + 1)]
            self.num_classes = len(self.classes)
        else:
            self.classes = None
            self.num_classes = None

    def set_epoch(self, epoch: int) -> None:
        """Draw fresh augmentations for a new epoch (deterministic per epoch)."""
        self.epoch = epoch

    def _image(self, index: int) -> torch.Tensor:
        raise NotImplementedError

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, int]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} images")
        image = self._image(index)
        if self.transform is not None:
            image = self.transform(image, item_generator(self.seed, self.epoch, index))
        if self.labels is None:
            return image
        return image, int(self.labels[index])


class ImageDataset(_SeededImages):
    """Images held in memory: a float tensor ``(N, C, H, W)`` (values as given)."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        transform: Transform | None = None,
        seed: int = 0,
        classes: Sequence[str] | None = None,
    ) -> None:
        if images.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        super().__init__(labels, transform, seed, classes)

    def __len__(self) -> int:
        return len(self.images)

    def _image(self, index: int) -> torch.Tensor:
        return self.images[index]

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.images.shape[-2], self.images.shape[-1])


class ImageFolderDataset(_SeededImages):
    """Image files loaded lazily with Pillow, converted to ``mode`` ("L" or "RGB")."""

    def __init__(
        self,
        files: Sequence[Path],
        labels: torch.Tensor | None,
        transform: Transform | None,
        seed: int,
        classes: Sequence[str] | None,
        mode: str,
    ) -> None:
        self.files = list(files)
        self.mode = mode
        self.skipped: list[Path] = []  # files image_folder(skip_unreadable=True) left out
        super().__init__(labels, transform, seed, classes)

    def __len__(self) -> int:
        return len(self.files)

    def _image(self, index: int) -> torch.Tensor:
        return read_image(self.files[index], self.mode)


def read_image(path: Path, mode: str) -> torch.Tensor:
    """The image file at ``path`` as floats ``(C, H, W)`` in [0, 1], converted to ``mode``
    ("L" or "RGB"); a file Pillow cannot decode is a ValueError naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode in WIDE_INTEGER_MODES or image.mode == "F":
                tensor = _wide_pixels(image, path, mode)
            else:
                array = np.asarray(image.convert(mode), dtype=np.uint8)
                tensor = torch.from_numpy(array.copy()).float().div_(255.0)
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(
            f"cannot read image {str(path)!r}: {exc}; remove or replace the file, or set skip_unreadable: true"
        ) from exc
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)


def _wide_pixels(image: Any, path: Path, mode: str) -> torch.Tensor:
    """A 16- or 32-bit integer greyscale image as floats in [0, 1], scaled by its type's
    largest value as 8-bit images are by 255 (Pillow's ``convert`` would clip every
    value above 255), or a 32-bit float one (a float TIFF) as it is, as ``image_array``
    keeps floats (``convert`` would cast them to 8 bits): ``(H, W)`` for ``mode`` "L"
    and ``(H, W, 3)`` for "RGB"."""
    if image.mode == "F":
        tensor = torch.from_numpy(np.asarray(image, dtype=np.float32).copy())
        return tensor.unsqueeze(-1).expand(*tensor.shape, 3).contiguous() if mode == "RGB" else tensor
    values = np.asarray(image).astype(np.float64)
    if values.size and values.min() < 0:
        raise ValueError(
            f"cannot read image {str(path)!r}: its 32-bit integer pixels hold negative values (as low as "
            f"{int(values.min())}), which have no place on the [0, 1] scale images are read to; save it as an "
            "8- or 16-bit image, or give the pixels as floats through image_array"
        )
    tensor = torch.from_numpy(values / WIDE_INTEGER_MODES[image.mode]).float()
    return tensor.unsqueeze(-1).expand(*tensor.shape, 3).contiguous() if mode == "RGB" else tensor


class CenterCropResize:
    """The evaluation view: the largest central crop of the output's aspect, resized."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        height, width = image.shape[-2:]
        aspect = self.size[1] / self.size[0]
        h = min(height, round(width / aspect))
        w = min(width, round(h * aspect))
        top, left = (height - h) // 2, (width - w) // 2
        return resize(image[..., top : top + h, left : left + w], self.size)


def _normalisation(normalize: bool, channels: int, mean: Sequence[float] | None, std: Sequence[float] | None):
    if not normalize:
        return None, None
    if mean is not None or std is not None:
        return mean, std
    if channels == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    return (0.5,) * channels, (0.5,) * channels


def image_array(
    path: str,
    images_key: str = "images",
    labels_key: str | None = "labels",
    layout: Literal["auto", "nchw", "nhwc"] = "auto",
    image_size: ImageSize | None = None,
    augment: bool = False,
    crop_scale: FractionRange = (0.3, 1.0),
    flip: bool = False,
    normalize: bool = False,
    mean: ChannelValues | None = None,
    std: ChannelValues | None = None,
    split: Split = "all",
    test_fraction: TestFraction = 0.2,
    seed: Seed = 0,
) -> ImageDataset:
    """Images from a ``.npy`` array or a ``.npz`` archive (``images_key`` and, if
    present, ``labels_key``). Arrays are ``(N, H, W)``, ``(N, C, H, W)`` or
    ``(N, H, W, C)``; uint8 values are scaled to [0, 1], floats are kept. ``split``
    draws ``test_fraction`` of the images with ``seed``, of each class when labelled."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise IsADirectoryError(
            f"{str(file)!r} is a directory; give path= a .npy or .npz file (a folder of "
            "image files is read by the image_folder dataset)"
        )
    if not file.is_file():
        raise FileNotFoundError(f"no file {str(file)!r}; give path= a .npy or .npz file")
    try:
        loaded = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {str(file)!r} as .npy/.npz: {exc}") from exc
    labels = None
    if isinstance(loaded, np.ndarray):
        images = loaded
    else:
        with loaded:
            if images_key not in loaded.files:
                raise ValueError(
                    f"{str(file)!r} has no array {images_key!r} (it has {', '.join(loaded.files)}); set images_key"
                )
            images = loaded[images_key]
            if labels_key is not None and labels_key in loaded.files:
                labels = loaded[labels_key]
    tensor = _as_nchw(images, layout, str(file))
    label_tensor = None
    if labels is not None:
        if labels.ndim != 1 or len(labels) != len(tensor) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{labels_key!r} in {str(file)!r} must be {len(tensor)} integer labels, got "
                f"dtype {labels.dtype} shape {labels.shape}"
            )
        if labels.min() < 0:
            raise ValueError(f"labels in {str(file)!r} must be >= 0")
        label_tensor = torch.from_numpy(labels.astype(np.int64))
    keep = split_indices(len(tensor), split, test_fraction, seed, None if labels is None else labels.tolist())
    size = pair(image_size) if image_size is not None else tuple(tensor.shape[-2:])
    norm_mean, norm_std = _normalisation(normalize, tensor.shape[1], mean, std)
    transform = image_transform(size, augment=augment, crop_scale=crop_scale, flip=flip, mean=norm_mean, std=norm_std)
    classes = None if label_tensor is None else [str(c) for c in range(int(label_tensor.max()) + 1)]
    return ImageDataset(tensor[keep], None if label_tensor is None else label_tensor[keep], transform, seed, classes)


def _as_nchw(images: np.ndarray, layout: str, name: str) -> torch.Tensor:
    if images.ndim == 3:
        images = images[:, None]
        layout = "nchw"
    if images.ndim != 4:
        raise ValueError(
            f"images in {name!r} must be (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {images.shape}"
        )
    if layout == "auto":
        layout = "nhwc" if images.shape[-1] in (1, 3, 4) and images.shape[1] not in (1, 3, 4) else "nchw"
    if layout == "nhwc":
        images = images.transpose(0, 3, 1, 2)
    if images.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
        raise ValueError(f"images in {name!r} must be numeric, got dtype {images.dtype}")
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))


def scan_folder(
    root: str | Path, suffixes: Sequence[str], what: str
) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """``(files, labels, classes)`` of a dataset folder: class sub-folders
    (``root/cat/1.png``: labels index the sorted, non-empty class folders) or files
    directly in ``root`` (unlabelled: ``labels`` and ``classes`` are None). ``what``
    names the files in errors ("images", "videos")."""
    base = Path(root).expanduser()
    if not base.is_dir():
        where = "" if base.is_absolute() else f" (relative to the current directory, {str(Path.cwd())!r})"
        raise FileNotFoundError(f"no folder {str(base)!r}{where}; give root= a folder of {what}")

    def wanted(path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in suffixes

    class_dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = sorted(p for p in base.iterdir() if wanted(p))
    if not class_dirs:
        files, labels, classes = loose, None, None
    elif loose:
        raise ValueError(
            f"{str(base)!r} has both class sub-folders and loose {what} (e.g. {loose[0].name!r}); "
            f"move the loose {what} into a class folder or remove them"
        )
    else:
        files, labels, classes = [], [], []
        empty = []
        for folder in class_dirs:
            found = sorted(p for p in folder.rglob("*") if wanted(p))
            if found:
                classes.append(folder.name)
                files += found
                labels += [len(classes) - 1] * len(found)
            else:
                empty.append(folder.name)
        if empty and files:  # an empty folder is no class: say so, as the class count changes
            warnings.warn(
                f"{str(base)!r}: class folder(s) {', '.join(map(repr, empty))} hold no {what} "
                f"({', '.join(suffixes)}); left out of the classes ({len(classes)} kept)",
                stacklevel=3,
            )
    if not files:
        raise ValueError(f"no {what} ({', '.join(suffixes)}) in {str(base)!r} or its class sub-folders")
    if classes is not None and len(classes) == 1:
        _warn_one_class(base, base / classes[0], files)
    elif classes is not None:
        _warn_split_folders(base, classes, files)
    return files, labels, classes


_WARNED_ROOTS: set[str] = set()


def _warn_one_class(base: Path, folder: Path, files: Sequence[Path]) -> None:
    """Warn when the one class folder under ``base`` keeps its files in sub-folders of
    its own: those are most likely the classes, and ``base`` one level too high. Only a
    warning: one class (or unlabelled data) is fine for pretraining, and probing refuses
    labels of one class with its own error."""
    inner = sorted({path.relative_to(folder).parts[0] for path in files if path.parent != folder})
    if not inner or str(base) in _WARNED_ROOTS:
        return
    _WARNED_ROOTS.add(str(base))  # a run builds its data and eval sets from one root: say it once
    shown = ", ".join(repr(name) for name in inner[:5]) + (f" and {len(inner) - 5} more" if len(inner) > 5 else "")
    warnings.warn(
        f"{str(base)!r} holds one class folder, {folder.name!r}, so every item has the one label "
        f"{folder.name!r}; its files sit in the sub-folder{'s' if len(inner) > 1 else ''} {shown}, so root "
        f"is probably one level too high: to read those as the classes, set root: {str(folder)!r}",
        stacklevel=3,
    )


def warn_split_of_a_split(root: str | Path, split: str, test_fraction: float) -> None:
    """Warn when ``split`` carves a part of a folder that is named as a split already
    (``root: data/test, split: test`` probes on a fifth of the test images)."""
    base = Path(root).expanduser()
    if split == "all" or base.name.lower() not in SPLIT_NAMES:
        return
    share = test_fraction if split == "test" else 1 - test_fraction
    warnings.warn(
        f"root {str(base)!r} is named like a split, and split: {split} keeps {share:.0%} of its files "
        f"(test_fraction={test_fraction:g}); set split: all to use the whole folder",
        stacklevel=3,
    )


def _warn_split_folders(base: Path, classes: Sequence[str], files: Sequence[Path]) -> None:
    """Warn when every class folder under ``base`` is named like a split (``train``,
    ``test``, ...) and keeps its files in sub-folders: ``base`` is most likely the
    folder above the splits, so the splits would be read as the classes."""
    if not all(name.lower() in SPLIT_NAMES for name in classes) or str(base) in _WARNED_ROOTS:
        return
    nested: dict[Path, set[str]] = {base / name: set() for name in classes}  # split -> its sub-folders with files
    for path in files:
        split, *rest = path.relative_to(base).parts
        if len(rest) > 1:
            nested[base / split].add(rest[0])
    if not all(nested.values()):
        return
    _WARNED_ROOTS.add(str(base))
    shown = ", ".join(repr(name) for name in classes)
    first = classes[0]
    inner = ", ".join(repr(name) for name in sorted(nested[base / first])[:5])
    roots = {name.lower(): str(base / name) for name in classes}
    train, test = roots.get("train") or roots.get("training"), roots.get("test") or roots.get("testing")
    example = (
        f"root: {train!r} for data and eval.train, root: {test!r} for eval.test, each with split: all (the "
        "folder is one split already)"
        if train and test
        else f"root: {str(base / first)!r} with split: all"
    )
    warnings.warn(
        f"{str(base)!r} holds only the folders {shown}, named like splits, each with its files in sub-folders "
        f"of its own ({inner} in {first!r}): they are read as {len(classes)} classes, one per split. root is "
        f"probably one level too high: give each split its own root, e.g. {example}",
        stacklevel=3,
    )


def _shown_path(path: Path, root: str) -> str:
    """``path`` relative to ``root`` where it lies under it (``square/77.png``, not ``77.png``)."""
    try:
        return str(path.relative_to(Path(root).expanduser()))
    except ValueError:
        return str(path)


def drop_unreadable(
    files: Sequence[Path], labels: list[int] | None, read: Callable[[Path], Any], dataset: str, root: str
) -> tuple[list[Path], list[int] | None, list[Path]]:
    """``(files, labels, skipped)``: the files ``read`` decodes (it raises ValueError on one
    it cannot), their labels, and the others, with a warning that counts them. No
    readable file at all is an error."""
    readable = []
    for path in files:
        try:
            read(path)
            readable.append(True)
        except ValueError:
            readable.append(False)
    skipped = [path for path, ok in zip(files, readable, strict=True) if not ok]
    what = "images" if dataset == "image_folder" else "videos"
    if skipped:
        warnings.warn(
            f"{dataset} skipped {len(skipped)} unreadable of {len(files)} {what} in {root!r} "
            f"(e.g. {_shown_path(skipped[0], root)!r}); see dataset.skipped",
            stacklevel=3,
        )
    kept = [path for path, ok in zip(files, readable, strict=True) if ok]
    if not kept:
        raise ValueError(f"no readable {what} in {root!r}: all {len(skipped)} failed to decode")
    if labels is not None:
        labels = [label for label, ok in zip(labels, readable, strict=True) if ok]
    return kept, labels, skipped


def image_folder(
    root: str,
    image_size: ImageSize = 224,
    channels: Literal[1, 3] = 3,
    augment: bool = False,
    crop_scale: FractionRange = (0.3, 1.0),
    flip: bool = True,
    normalize: bool = True,
    mean: ChannelValues | None = None,
    std: ChannelValues | None = None,
    skip_unreadable: bool = False,
    split: Split = "all",
    test_fraction: TestFraction = 0.2,
    seed: Seed = 0,
) -> ImageFolderDataset:
    """Images under ``root``: either class sub-folders (``root/cat/1.png``: labelled,
    classes in sorted order; each class folder is searched through its own sub-folders)
    or image files directly in ``root`` (unlabelled). Images are the files ending in
    .png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff or .webp, in any case; other files are
    ignored, and a class folder holding no image is left out of the classes, with a warning.
    ``augment`` crops randomly (and flips when ``flip``); otherwise the centre crop.
    A file that cannot be decoded raises an error naming it when it is read;
    ``skip_unreadable: true`` decodes every file once here, drops the unreadable ones
    and warns with their count (listed in ``dataset.skipped``). ``split`` draws
    ``test_fraction`` of the images with ``seed``, of each class when labelled."""
    files, labels, classes = scan_folder(root, IMAGE_SUFFIXES, "images")
    skipped: list[Path] = []
    if skip_unreadable:  # before the split, so train and test draw from the same readable files
        mode = "L" if channels == 1 else "RGB"
        files, labels, skipped = drop_unreadable(
            files, labels, lambda path: read_image(path, mode), "image_folder", root
        )
    warn_split_of_a_split(root, split, test_fraction)
    keep = split_indices(len(files), split, test_fraction, seed, labels)
    size = pair(image_size)
    norm_mean, norm_std = _normalisation(normalize, channels, mean, std)
    if augment:
        transform: Transform = image_transform(
            size, augment=True, crop_scale=crop_scale, flip=flip, mean=norm_mean, std=norm_std
        )
    else:
        tail = image_transform(size, mean=norm_mean, std=norm_std).transforms[1:]
        transform = Compose([CenterCropResize(size), *tail])
    label_tensor = torch.tensor(labels)[keep] if labels is not None else None
    dataset = ImageFolderDataset(
        [files[i] for i in keep.tolist()], label_tensor, transform, seed, classes, "L" if channels == 1 else "RGB"
    )
    dataset.skipped = skipped
    return dataset


def digits(
    image_size: ImageSize = 8,
    augment: bool = False,
    crop_scale: FractionRange = (0.3, 1.0),
    normalize: bool = True,
    split: Split = "all",
    test_fraction: TestFraction = 0.2,
    seed: Seed = 0,
) -> ImageDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes, no
    download): one channel in [0, 1] (normalised to [-1, 1] when ``normalize``),
    resized bilinearly to ``image_size``. Needs ``pip install 'jepa-plugins-vision[digits]'``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            f"the digits dataset needs scikit-learn: {install_command('jepa-plugins-vision', 'digits')}"
        ) from exc
    data = load_digits()
    images = torch.from_numpy(data.images.astype(np.float32) / 16.0)[:, None]  # 0..16 grey levels
    labels = torch.from_numpy(data.target.astype(np.int64))
    # not stratified, unlike the labelled folders: every digits result was measured on this split
    keep = split_indices(len(images), split, test_fraction, seed)
    size = pair(image_size)
    if not augment and size != (8, 8):  # resize once, not per item
        needed = 4 * len(images) * size[0] * size[1]
        if needed > memory_budget():
            raise ValueError(
                f"{len(images)} digits at {size[0]}x{size[1]} would need {format_bytes(needed)}, more than the "
                f"{format_bytes(memory_budget())} this machine can hold; use a smaller image_size or augment=True"
            )
        images = torch.stack([resize(image, size) for image in images])
    mean, std = _normalisation(normalize, 1, None, None)
    transform = image_transform(size, augment=augment, crop_scale=crop_scale, mean=mean, std=std)
    return ImageDataset(images[keep], labels[keep], transform, seed, [str(d) for d in range(10)])
