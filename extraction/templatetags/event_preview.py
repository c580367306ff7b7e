"""Template filters for showing events."""

from django import template

from extraction.engine.fingerprint import exception_line as _exception_line

register = template.Library()


@register.filter
def exception_line(event) -> str:
    """A traceback's exception line ("RuntimeError: …"), shown above its first lines."""
    return _exception_line(event.content, event.metadata)
