"""Checking uploads and rendering Markdown: the two places untrusted content enters the library.

An upload is accepted only with an allowed extension whose first bytes look like that kind of
file (a renamed executable is not a PDF) and under the size limit. Markdown is rendered and then
cleaned by `nh3` with a small allow-list, so raw HTML, scripts and `javascript:` links never
reach a page.
"""

from pathlib import PurePath

import markdown
import nh3
from django.utils.safestring import mark_safe

from opportunities.errors import DomainError

MAX_FILE_BYTES = 10 * 1024 * 1024
ZIP = b"PK\x03\x04"
# extension → (content type, accepted leading bytes; None: plain text, checked as UTF-8)
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (ZIP,)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (ZIP,)),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
    "md": ("text/markdown", None),
}
TAGS = {"p", "br", "hr", "strong", "em", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "code", "pre", "a"}
TAGS |= {"table", "thead", "tbody", "tr", "th", "td"}


def check_upload(upload) -> tuple[str, str]:
    """(safe file name, content type) of an acceptable upload; DomainError otherwise."""
    name = PurePath(upload.name or "").name.strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED:
        allowed = ", ".join(sorted(ALLOWED))
        raise DomainError(f"Files of this type are not accepted; use one of: {allowed}.", field="file")
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        raise DomainError(f"The file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit.", field="file")
    if upload.size == 0:
        raise DomainError("The file is empty.", field="file")
    content_type, magics = ALLOWED[ext]
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if magics is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 2048th byte is still text.
            if exc.start < len(head) - 3:
                raise DomainError(f"This does not look like a .{ext} text file.", field="file") from exc
        if b"\x00" in head:
            raise DomainError(f"This does not look like a .{ext} text file.", field="file")
    elif not any(head.startswith(m) for m in magics):
        raise DomainError(f"The file's content is not a .{ext} file.", field="file")
    return name[-200:], content_type


def render_markdown(text: str) -> str:
    """Markdown as sanitised HTML: raw HTML is escaped first, then nh3 keeps only the allow-list."""
    md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    # No raw HTML: without these two steps Markdown passes it through; now it is shown as text.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = md.convert(text or "")
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - nh3's output keeps only the allow-listed markup
