"""The plan renderers in one place: human text, JSON data, Markdown (all pure)."""

from __future__ import annotations

from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text

__all__ = ["plan_to_json", "render_markdown", "render_text"]
