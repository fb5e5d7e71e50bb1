"""Rendering of statements: HTML from templates, inline SVG charts, PDF with WeasyPrint.
Reads nothing from the database (selectors do) and writes nothing (services do)."""
