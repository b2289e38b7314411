"""Importers: other formats (promtool test files, NAB CSV + labelled windows) as recordings."""
