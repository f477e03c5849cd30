"""How a page answers a write that a service refused, the form pages' one pattern, and a form's
problems as lines.

The views of `opportunities` and of every app above it use these, so that a refusal reads the
same everywhere: a 403 when the person may not act at all, otherwise the service's message on the
page (and beside its field on a form page), and nothing changed.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .errors import AccessDenied, ConcurrentEdit, DomainError


def refuse(request, exc: DomainError) -> None:
    """Show a service's refusal: AccessDenied becomes a 403; any other its message on the next
    page, and a concurrent edit also lists what changed meanwhile."""
    if isinstance(exc, AccessDenied):
        raise PermissionDenied(exc.message)
    messages.error(request, exc.message)
    if isinstance(exc, ConcurrentEdit) and exc.changes:
        # The page is reloaded after the refusal; say what it now shows that the person had not seen.
        shown = exc.changes[-5:]
        more = len(exc.changes) - len(shown)
        messages.info(request, "Changed meanwhile: " + "; ".join(shown) + (f" (and {more} earlier)" if more else ""))


def form_problems(form) -> list[str]:
    """Each of a bound form's errors as one line: "Label: message", or the message alone for an
    error of the whole form."""
    problems = []
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ").capitalize() if field in form.fields else ""
        problems += [f"{label}: {error}" if label else error for error in errors]
    return problems


def show_form_problems(request, form) -> None:
    """A form posted from another page: its errors as messages on the page it goes back to."""
    for problem in form_problems(form):
        messages.error(request, problem)


def form_page(request, form, *, write, done, template: str, context: dict | None = None, on_field: bool = True):
    """A valid POST runs `write(cleaned_data)` (a service); on success `done(result)` gives the
    message and the redirect. A refusal (DomainError) goes onto the form (beside its field, if
    the form has it and `on_field`), and the page comes back with 400, nothing changed, as it
    does for any other POST that did not succeed (an empty one included). A GET renders
    `template` with `form` and `context`."""
    if request.method == "POST" and form.is_valid():
        try:
            result = write(form.cleaned_data)
        except DomainError as exc:
            refuse(request, exc)
            form.add_error(exc.field if on_field and exc.field in form.fields else None, exc.message)
        else:
            message, response = done(result)
            messages.success(request, message)
            return response
    return render(request, template, {"form": form, **(context or {})}, status=400 if request.method == "POST" else 200)
