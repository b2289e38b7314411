"""Pure renderers: typed settings in, config text out (docs/architecture.md, Layers)."""

# Where the small Jinja templates (systemd units) live; only line files are templated.
TEMPLATE_PACKAGE = "obsbox.render"
