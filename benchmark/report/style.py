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

_RESERVED_PALETTE = sns.color_palette("colorblind", 10) + sns.color_palette("dark", 10)
"""Ranks 0-19 of the registry: a colour each, the same in every report."""
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


def base_of(name: str) -> str:
    """'mtbc' for 'mtbc[task_onehot=true]' (and for 'mtbc')."""
    return name.split("[")[0]


def is_variant(name: str) -> bool:
    return "[" in name


def display_name(name: str) -> str:
    """How tables, legends and axes name a method: a base method by its registry entry's display
    name, a variant by its base's followed by its arguments ('Multi-task BC [task_onehot=true]'),
    a name the registry does not know as it is."""
    entry = method_entry(name)
    shown = entry.display if entry and entry.display else None
    if shown is None:
        return name
    return f"{shown} {name[name.index('['):]}" if is_variant(name) else shown


VARIANT_LIGHTNESS = (0.35, 0.5, 0.65)
"""How far a variant's colour is blended towards white from its base's (one level per variant,
chosen by a hash of its name): variants share their base's hue, lighter."""


def method_color(name: str):
    """RGB tuple of `name`: reserved by its registry rank for base methods (ranks 0-19), else fixed
    by a hash of the name; a variant gets a lighter shade of its base's colour."""
    if is_variant(name):
        level = VARIANT_LIGHTNESS[_hash(name) % len(VARIANT_LIGHTNESS)]
        return tuple(float(c + (1.0 - c) * level) for c in method_color(base_of(name)))
    entry = method_entry(name)
    if entry is not None and entry.rank < len(_RESERVED_PALETTE):
        return _RESERVED_PALETTE[entry.rank]
    return _OTHER_PALETTE[_hash(name) % len(_OTHER_PALETTE)]


def _hash(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16)


def edge_color(name: str):
    """Outline of a method's bars: its base's colour for a variant (ties it to its base), else white."""
    return method_color(base_of(name)) if is_variant(name) else "white"


def line_style(name: str) -> str:
    """Solid for base methods, dashed for variants (lines and interval rows)."""
    return "--" if is_variant(name) else "-"


def palette(names) -> dict:
    return {name: method_color(name) for name in names}


def method_order(names) -> list[str]:
    """Base methods in their registry rank, each followed by its variants (by key, then in value
    order), then names the registry does not know, sorted the same way."""
    return sorted(set(names), key=_order_key)


def _order_key(name: str):
    entry = method_entry(name)
    base = base_of(name)
    group = (0, entry.rank, base) if entry else (1, 0, base)
    variant = parse_variant(name)
    if not is_variant(name):
        within = (0, "", (-1, 0.0, ""))
    elif variant:
        within = (1, variant[1], variant_sort_key(name))
    else:  # a variant of several keys
        within = (2, "", (-1, 0.0, ""))
    return group, within, name


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
