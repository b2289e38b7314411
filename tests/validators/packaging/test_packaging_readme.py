"""The instrumentation distribution's package description is its own short README."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "instrumentation" / "README.md"


def test_instrumentation_wheel_describes_itself_with_its_readme(tmp_path: Path) -> None:
    """The built wheel's METADATA body is instrumentation/README.md as Markdown, launcher first."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path), str(ROOT / "instrumentation")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("obsbox_instrumentation-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(name).decode())
    assert metadata["Description-Content-Type"] == "text/markdown"
    body = metadata.get_payload()
    assert body.strip() == README.read_text().strip()
    # Zero code first: the launcher line comes before the configure() line.
    assert body.index("obsbox-instrument --service-name") < body.index("obsbox.configure(")
    assert len(README.read_bytes()) < 5_000
