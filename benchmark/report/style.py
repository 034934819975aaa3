"""One plotting style for every figure; each method's colour, order, display name and variant
labels come from its registry entry (benchmark.api.MethodEntry), none is written here."""
from __future__ import annotations

import contextlib
import functools
import hashlib

import matplotlib
import seaborn as sns

from benchmark.api import METHODS, MethodEntry, variant_of
from benchmark.errors import UserError

_RESERVED_PALETTE = sns.color_palette("colorblind", 10)
_OTHER_PALETTE = sns.color_palette("tab20", 20)

RC = {
    "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "legend.fontsize": 9, "legend.title_fontsize": 9, "figure.dpi": 100,
}
SAVE_RC = {"savefig.dpi": 150, "svg.fonttype": "none", "svg.hashsalt": "b2p"}
"""Read when a figure is saved; the fixed salt gives SVG elements the same ids on every build."""


@contextlib.contextmanager
def style():
    """Context manager applying the report's style (use as `with style(): ...`)."""
    # sns.axes_style ignores rc keys outside its style set (font sizes), hence rc_context
    with sns.axes_style("whitegrid"), matplotlib.rc_context(RC):
        yield


def save_figure(figure, path) -> None:
    """Save as PNG or SVG (by suffix), byte-identical for the same figure."""
    with matplotlib.rc_context(SAVE_RC):
        figure.savefig(path, bbox_inches="tight", metadata={"Date": None} if str(path).endswith(".svg") else None)


@functools.lru_cache(maxsize=None)
def method_entry(name: str) -> MethodEntry | None:
    """The registry entry of a method name's base (None for a name the registry does not know)."""
    base = name.split("[")[0]
    try:
        return METHODS.entry(base)
    except UserError:
        return None


def display_name(name: str) -> str:
    """How tables and legends name a base method (its registry entry's display name)."""
    entry = method_entry(name)
    return entry.display if entry and entry.display and "[" not in name else name


def method_color(name: str):
    """RGB tuple of `name`: reserved by its registry rank for base methods, else fixed by a hash."""
    entry = method_entry(name)
    if entry is not None and "[" not in name and entry.rank < len(_RESERVED_PALETTE):
        return _RESERVED_PALETTE[entry.rank]
    index = int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(_OTHER_PALETTE)
    return _OTHER_PALETTE[index]


def palette(names) -> dict:
    return {name: method_color(name) for name in names}


def method_order(names) -> list[str]:
    """Base methods in their registry rank, then variants and unknown names sorted."""
    names = set(names)
    ranked = sorted((n for n in names if "[" not in n and method_entry(n)), key=lambda n: (method_entry(n).rank, n))
    return ranked + sorted(names - set(ranked), key=_name_sort_key)


def _name_sort_key(name: str):
    """Variants of one method and key in value order (traj_steps=30 before 120), else by name."""
    variant = parse_variant(name)
    return (variant[0], variant[1], variant_sort_key(name)) if variant else (name, "", (-1, 0.0, ""))


def parse_variant(name: str) -> tuple[str, str, str] | None:
    """('make-an-agent', 'condition', 'h') for 'make-an-agent[condition=h]', else None."""
    return variant_of(name)


def variant_sort_key(name: str):
    """Sort the variants of one key: in the order the method's registry entry gives (e.g. the
    paper's h, v, h+v, raw), then numbers numerically, then the rest alphabetically."""
    base, key, value = parse_variant(name)
    entry = method_entry(base)
    order = list(entry.value_order.get(key, [])) if entry else []
    if value in order:
        return (0, float(order.index(value)), "")
    try:
        return (1, float(value), "")
    except ValueError:
        return (2, 0.0, value)


def axis_label(name: str, key: str) -> str:
    """Axis label of a variant key, from the method's registry entry (else the key in words)."""
    entry = method_entry(name)
    return (entry.axis_labels.get(key) if entry else None) or key.replace("_", " ")
