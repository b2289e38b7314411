"""Deploy benchmark: converge the all-in-one stack on a fresh throwaway host, then run it again.

Prints `deploy: converge=<s> noop=<s> changes_on_rerun=<count>`. Needs root (it boots a host);
the host image and mirror are built first and are not part of the timings.
"""

from __future__ import annotations

import os
import time

from obsbox.hosts.host import boot_host, stop_host
from obsbox.hosts.image import ensure_rootfs_tarball
from obsbox.hosts.mirror import MIRROR_DIR, build_mirror, serve_mirror
from obsbox.hosts.stack import converge_stack, plan_stack, stack_data


def main() -> None:
    if os.geteuid() != 0:
        raise RuntimeError("bench_deploy boots a throwaway systemd host and needs root")
    ensure_rootfs_tarball()
    plan = plan_stack(MIRROR_DIR, build_mirror(MIRROR_DIR))
    started = time.monotonic()
    host = boot_host("obsbox-bench")
    boot_s = time.monotonic() - started
    try:
        with serve_mirror(MIRROR_DIR, host.gateway) as mirror_url:
            data = stack_data(host, mirror_url, plan)
            first = converge_stack(host, data)
            if not first.ok:
                raise RuntimeError(f"first converge failed:\n{first.output[-3000:]}")
            second = converge_stack(host, data)
            if not second.ok:
                raise RuntimeError(f"second converge failed:\n{second.output[-3000:]}")
    finally:
        stopping = time.monotonic()
        stop_host(host)
        stop_s = time.monotonic() - stopping
    print(
        f"host: boot={boot_s:.1f} stop={stop_s:.1f} installed={','.join(plan.versions)} "
        f"not_obtainable={','.join(plan.skipped)} first_run_changes={first.changed}"
    )
    print(f"deploy: converge={first.seconds:.1f} noop={second.seconds:.1f} changes_on_rerun={second.changed}")
