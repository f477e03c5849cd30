from django import template

from ..content import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Markdown as sanitised HTML (aids.content.render_markdown): no raw HTML gets through."""
    return render_markdown(text)
