"""The access report as a PDF: the HTML document of reports.html, laid out for A4 by WeasyPrint in DejaVu Sans.

DejaVu (Debian's fonts-dejavu-core) has every letter of Kazakh and Russian Cyrillic, and the PDF embeds
it. Nothing is fetched but the font files: the fetcher refuses every URL that is not a local file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from services.ledger.reports.html import render_access_report

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {
    ("DejaVu Sans", "normal"): "DejaVuSans.ttf",
    ("DejaVu Sans", "bold"): "DejaVuSans-Bold.ttf",
    ("DejaVu Sans Mono", "normal"): "DejaVuSansMono.ttf",
    ("DejaVu Sans Mono", "bold"): "DejaVuSansMono-Bold.ttf",
}

_FONT_FACES = "\n".join(
    f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{(FONTS / name).as_uri()}"); }}'
    for (family, weight), name in FONT_FILES.items()
)

# Author rules after the document's own <style>: they replace its screen layout (centred column, sans-serif).
PRINT_CSS = (
    _FONT_FACES
    + """
@page {
  size: A4;
  margin: 20mm 18mm 22mm;
  @bottom-right { content: counter(page) " / " counter(pages); font: 8pt "DejaVu Sans"; color: #555; }
}
html { font-family: "DejaVu Sans"; font-size: 10pt; }
body { max-width: none; margin: 0; line-height: 1.35; }
code { font-family: "DejaVu Sans Mono"; font-size: .9em; overflow-wrap: anywhere; }
h1 { font-size: 16pt; margin: 0 0 .6em; }
h2 { font-size: 12.5pt; margin: 1.2em 0 .4em; break-after: avoid; }
h3 { font-size: 11pt; break-after: avoid; }
dt { break-after: avoid; }
tr, li { break-inside: avoid; }
td, dd { overflow-wrap: anywhere; }
"""
)


def access_report_pdf(report: Mapping[str, Any], lang: str) -> bytes:
    """The PDF of an access report (as build_access_report made it) in `lang`: kk, ru or en."""
    document = render_access_report(report, lang)  # raises UnknownLanguageError before any layout work
    fonts = FontConfiguration()
    fetcher = URLFetcher(allowed_protocols=("file",))
    stylesheet = CSS(string=PRINT_CSS, font_config=fonts, url_fetcher=fetcher)
    pdf: bytes = HTML(string=document, base_url=None, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet], font_config=fonts
    )
    return pdf
