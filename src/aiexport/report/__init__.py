"""Reports: SVG charts from data, standalone HTML (Jinja2) and PDF (WeasyPrint)."""
