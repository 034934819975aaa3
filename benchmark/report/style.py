"""One plotting style for every figure, and a fixed colour and order per method name."""
from __future__ import annotations

import contextlib
import hashlib
import re

import matplotlib
import seaborn as sns

KNOWN_METHODS: tuple[str, ...] = (
    "make-an-agent", "mtbc", "care", "hypernet", "dt",
    "nearest-checkpoint", "noisy-checkpoint", "mean-checkpoint",
)
"""Methods with a reserved colour, in the order tables and legends list them."""
_KNOWN_PALETTE = sns.color_palette("colorblind", len(KNOWN_METHODS))
_OTHER_PALETTE = sns.color_palette("tab20", 20)
_VARIANT = re.compile(r"^(?P<base>[^\[]+)\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\]$")

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


def method_color(name: str):
    """RGB tuple of `name`: reserved for known methods, else fixed by a hash of the name."""
    if name in KNOWN_METHODS:
        return _KNOWN_PALETTE[KNOWN_METHODS.index(name)]
    index = int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(_OTHER_PALETTE)
    return _OTHER_PALETTE[index]


def palette(names) -> dict:
    return {name: method_color(name) for name in names}


def method_order(names) -> list[str]:
    """Known methods in their fixed order, then the others sorted."""
    names = set(names)
    return [m for m in KNOWN_METHODS if m in names] + sorted(names - set(KNOWN_METHODS), key=_name_sort_key)


def _name_sort_key(name: str):
    """Variants of one method and key in value order (traj_steps=30 before 120), else by name."""
    variant = parse_variant(name)
    return (variant[0], variant[1], value_sort_key(variant[2])) if variant else (name, "", (-1, 0.0, ""))


def parse_variant(name: str) -> tuple[str, str, str] | None:
    """('make-an-agent', 'condition', 'h') for 'make-an-agent[condition=h]', else None."""
    match = _VARIANT.match(name)
    return (match["base"], match["key"], match["value"]) if match else None


CONDITION_ORDER: tuple[str, ...] = ("h", "v", "h+v", "raw")
"""The paper's order of the behaviour-embedding ablation (Figure 8)."""


def value_sort_key(value: str):
    """Sort ablation values: the embedding variants in the paper's order, then numbers
    numerically, then the rest alphabetically."""
    if value in CONDITION_ORDER:
        return (0, float(CONDITION_ORDER.index(value)), "")
    try:
        return (1, float(value), "")
    except ValueError:
        return (2, 0.0, value)
