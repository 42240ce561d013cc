"""Draw a work's neighbourhood (``bot.neighbours.NeighbourMap``) as a PNG, and its text legend.

matplotlib with its Agg backend (``Figure`` and ``FigureCanvasAgg``: no pyplot state, no
display) renders it; ``render_map_png`` is a module-level function of plain data, so the bot
runs it in a worker process (``Workers.run``) and the event loop never waits on it.

The picture: the work in the middle; its references to the left, the works citing it to the
right, related works below; a few rounds of a spring layout pull works that cite one another
together, so clusters show. Nodes are sized by citations and coloured by year; edges are
OpenAlex's reference lists; labels are first author + year, the most cited in bold.

No discord, no I/O.
"""

from __future__ import annotations

import io
import math

from bot.neighbours import NeighbourMap
from bot.text import plural

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 7.5, 100  # a 1000 × 750 px image, sharp in Discord's viewer
SPRING_ROUNDS = 120
BOLD_LABELS = 5  # the most cited neighbours get bold labels (and are named in the legend)
MARKERS = {"seed": "*", "reference": "o", "citing": "s", "related": "^"}
ROLE_WORDS = {
    "reference": ("reference", "references"),
    "citing": ("citing work", "citing works"),
    "related": ("related work", "related works"),
}
SYMBOLS = {"seed": "★", "reference": "●", "citing": "■", "related": "▲"}
# Where each role starts: angles (degrees) of the sector it is spread over.
SECTORS = {"reference": (110.0, 250.0), "citing": (-70.0, 70.0), "related": (250.0, 290.0)}


def _initial(data: NeighbourMap) -> dict[str, tuple[float, float]]:
    pos = {data.seed.key: (0.0, 0.0)}
    for role, (start, end) in SECTORS.items():
        nodes = data.of(role)
        for i, node in enumerate(nodes):
            angle = math.radians(start + (end - start) * (i + 0.5) / max(1, len(nodes)))
            radius = 1.0 + 0.25 * (i % 2)
            pos[node.key] = (radius * math.cos(angle), radius * math.sin(angle))
    return pos


def layout(data: NeighbourMap) -> dict[str, tuple[float, float]]:
    """Positions in [-1, 1]²: role sectors first, then a spring layout (Fruchterman and
    Reingold) along the citation edges (and a weak tie from every work to the middle, so a
    related work that cites nothing on the map stays near), the work itself fixed in the
    middle; scaled to fill the picture. Deterministic."""
    import numpy as np

    keys = [n.key for n in data.nodes]
    index = {k: i for i, k in enumerate(keys)}
    start = _initial(data)
    pos = np.array([start[k] for k in keys], dtype=float)
    if len(keys) > 2:
        links = {(index[a], index[b]) for a, b in data.edges if a in index and b in index}
        links |= {(0, i) for i in range(1, len(keys))}  # the seed is the first node
        edges = np.array(sorted(links))
        k = 1.2 / math.sqrt(len(keys))
        temperature = 0.12
        for _ in range(SPRING_ROUNDS):
            delta = pos[:, None, :] - pos[None, :, :]
            distance = np.maximum(np.linalg.norm(delta, axis=2), 0.02)
            force = (delta / distance[..., None] * (k * k / distance)[..., None]).sum(axis=1)
            d = pos[edges[:, 0]] - pos[edges[:, 1]]
            length = np.maximum(np.linalg.norm(d, axis=1), 0.02)
            pull = d / length[:, None] * (length * length / k)[:, None]
            np.add.at(force, edges[:, 0], -pull)
            np.add.at(force, edges[:, 1], pull)
            size = np.maximum(np.linalg.norm(force, axis=1), 1e-9)
            pos += force / size[:, None] * np.minimum(size, temperature)[:, None]
            pos[0] = (0.0, 0.0)
            temperature *= 0.96
        spread = np.abs(pos).max(axis=0)
        pos /= np.where(spread > 0, spread, 1.0)
    return {k: (float(x), float(y)) for k, (x, y) in zip(keys, pos, strict=True)}


def drawable(label: str) -> str:
    """``label`` in characters the bundled font (DejaVu Sans: Latin, Greek, Cyrillic) has;
    a CJK name is transliterated ("宮崎 2019" → "Gong Qi 2019") rather than drawn as boxes.
    The legend keeps the original."""
    if all(ord(c) < 0x2E80 for c in label):
        return label
    from anyascii import anyascii

    return " ".join(anyascii(label).split())


def _sizes(data: NeighbourMap) -> dict[str, float]:
    top = max((n.cited_by for n in data.nodes), default=0) or 1
    return {n.key: 40.0 + 560.0 * math.sqrt(n.cited_by / top) for n in data.nodes}


def most_cited(data: NeighbourMap, count: int = BOLD_LABELS) -> list:
    """The most cited neighbours (not the work itself), most cited first."""
    others = [n for n in data.nodes if n.role != "seed"]
    return sorted(others, key=lambda n: (-n.cited_by, n.label))[:count]


def render_map_png(data: NeighbourMap) -> bytes:
    """The map as PNG bytes (``WIDTH_IN`` × ``HEIGHT_IN`` inches at ``DPI``)."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    pos = layout(data)
    sizes = _sizes(data)
    years = [n.year for n in data.nodes if n.year]
    low, high = (min(years), max(years)) if years else (2000, 2001)
    norm = Normalize(vmin=low, vmax=high if high > low else low + 1)
    cmap = colormaps["viridis"]

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    for a, b in data.edges:
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            seed_edge = data.seed.key in (a, b)
            ax.plot(
                [x1, x2],
                [y1, y2],
                color="#8a8f98",
                linewidth=0.9 if seed_edge else 0.6,
                alpha=0.45 if seed_edge else 0.3,
                zorder=1,
            )
    bold = {n.key for n in most_cited(data)} | {data.seed.key}
    for role, marker in MARKERS.items():
        nodes = [n for n in data.nodes if n.role == role]
        if not nodes:
            continue
        ax.scatter(
            [pos[n.key][0] for n in nodes],
            [pos[n.key][1] for n in nodes],
            s=[sizes[n.key] * (2.2 if role == "seed" else 1.0) for n in nodes],
            c=[cmap(norm(n.year)) if n.year else (0.7, 0.7, 0.7, 1.0) for n in nodes],
            marker=marker,
            edgecolors="#222222" if role == "seed" else "white",
            linewidths=1.2 if role == "seed" else 0.6,
            zorder=3 if role == "seed" else 2,
        )
    for node in data.nodes:
        x, y = pos[node.key]
        ax.annotate(
            drawable(node.label),
            (x, y),
            xytext=(0, 7 + math.sqrt(sizes[node.key]) / 2.5),
            textcoords="offset points",
            ha="center",
            fontsize=9 if node.key in bold else 7.5,
            fontweight="bold" if node.key in bold else "normal",
            color="#111111" if node.key in bold else "#444444",
            zorder=4,
        )
    handles = [
        Line2D([], [], linestyle="", marker=MARKERS[role], markersize=9, color="#666666")
        for role in ("seed", "reference", "citing", "related")
    ]
    words = ["this work", "references", "citing works (most cited)", "related works"]
    ax.legend(handles, words, loc="lower left", fontsize=8, frameon=False)
    bar = fig.colorbar(
        _mappable(cmap, norm), ax=ax, shrink=0.5, pad=0.01, label="Year of publication"
    )
    bar.ax.tick_params(labelsize=8)
    ax.set_title(
        f"{drawable(data.seed.label)}: its neighbourhood (node size: citations; colour: year)",
        fontsize=11,
    )
    ax.margins(0.08)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _mappable(cmap, norm):
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=norm, cmap=cmap)
    mappable.set_array([])
    return mappable


def map_legend(data: NeighbourMap) -> str:
    """The picture in words (plain text; the caller escapes it): what is shown out of what
    OpenAlex lists, what size and colour mean, and the most cited neighbours."""
    parts = []
    for role, (one, many) in ROLE_WORDS.items():
        shown = len(data.of(role))
        listed = data.listed.get(role, shown)
        noun = one if listed == 1 else many
        if role == "citing" and listed > shown:
            parts.append(f"{SYMBOLS[role]} the {shown} most cited of {listed:,} {noun}")
        elif listed > shown:
            parts.append(f"{SYMBOLS[role]} {shown} of {listed:,} {noun}")
        else:
            parts.append(f"{SYMBOLS[role]} {plural(shown, one, many)}")
    years = [n.year for n in data.nodes if n.year]
    span = f"{min(years)}–{max(years)}" if years else "unknown"
    lines = [
        f"{SYMBOLS['seed']} {data.seed.label} among " + ", ".join(parts) + ".",
        f"Size: citations; colour: year ({span}); lines: one cites the other "
        f"({plural(len(data.edges), 'link')}, from OpenAlex's reference lists).",
    ]
    top = most_cited(data)
    if top:
        lines.append(
            "Most cited: "
            + "; ".join(f"{n.label} ({n.cited_by:,}, {ROLE_WORDS[n.role][0]})" for n in top)
            + "."
        )
    return "\n".join(lines)
