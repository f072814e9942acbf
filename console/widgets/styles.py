"""Component styles for hand-built renderables, with theme colours resolved.

Theme variables such as ``$text-muted`` are colours with an alpha channel. A *partial* Rich style
keeps them unblended (so on a light theme "60 % of dark grey" came out as white); the full style
blends them over the widget's background but also carries that background, which would paint over
a cursor row. :func:`component_style` takes the text attributes and background of the partial
style and the blended foreground of the full one.
"""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget

__all__ = ["component_style"]


def component_style(widget: Widget, name: str) -> Style:
    """The style of component class ``name`` of ``widget``, its foreground blended."""
    partial = widget.get_component_rich_style(name, partial=True)
    full = widget.get_component_rich_style(name)
    if partial.color is None or full.color is None:
        return partial
    return partial + Style(color=full.color)
