"""Pure renderers: typed settings in, config text out (DESIGN.md section 3)."""

# Where the small Jinja templates (systemd units) live; only line files are templated.
TEMPLATE_PACKAGE = "obsbox.render"
