"""``python -m examples.demo_service [--host H] [--port P]``: the demo on Flask's dev server."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="the obsbox demo service (dev server)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (loopback unless you mean it)")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    from .app import app

    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
