"""Bar charts as inline SVG, drawn on the server: no script, so the page keeps CSP 'self'."""

from collections.abc import Mapping, Sequence
from itertools import cycle

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Colour-blind-safe (Okabe-Ito); the series keep their colour in the legend.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 100, 64, 28  # room for the scale, the slanted category labels, the legend


def stacked_bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]]) -> SafeString:
    """A vertical bar per category, each series stacked on the one before, with a legend.

    `series` maps a name to one value per category.
    """
    top = max((sum(values) for values in zip(*series.values(), strict=True)), default=0) or 1
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(categories), 1)
    bar = max(slot * 0.7, 1)
    shapes = []
    for i, category in enumerate(categories):
        x = LEFT + i * slot + (slot - bar) / 2
        base: float = HEIGHT - BOTTOM
        for colour, (name, values) in zip(cycle(PALETTE), series.items()):
            height = plot_height * values[i] / top
            if height:
                base -= height
                shapes.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}, {}: {}</title></rect>",
                        _at(x),
                        _at(base),
                        _at(bar),
                        _at(height),
                        colour,
                        category,
                        name,
                        _number(values[i]),
                    )
                )
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="end" '
                'transform="rotate(-40 {} {})">{}</text>',
                _at(x + bar / 2),
                HEIGHT - BOTTOM + 12,
                _at(x + bar / 2),
                HEIGHT - BOTTOM + 12,
                category,
            )
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="4" width="10" height="10" fill="{}"></rect>'
        '<text x="{}" y="13" font-size="11">{}</text>',
        (
            (LEFT + 110 * n, colour, LEFT + 110 * n + 14, name)
            for n, (colour, name) in enumerate(zip(cycle(PALETTE), series))
        ),
    )
    return format_html(
        '<figure class="chart"><figcaption>{}</figcaption>'
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="{}" height="{}" aria-label="{}">'
        "<title>{}</title>{}"
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888"></line>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">0</text>{}</svg></figure>',
        title,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        title,
        legend,
        LEFT,
        HEIGHT - BOTTOM,
        WIDTH,
        HEIGHT - BOTTOM,
        LEFT - 4,
        TOP + 4,
        _number(top),
        LEFT - 4,
        HEIGHT - BOTTOM,
        SafeString("".join(shapes)),
    )


def _at(coordinate: float) -> str:
    return f"{coordinate:.1f}"


def _number(value: float) -> str:
    return f"{value:g}"
