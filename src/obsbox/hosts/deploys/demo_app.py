"""pyinfra deploy: the demo service, its payments dependency and its invoice-rendering RQ worker
on a throwaway host (redis-server, the job broker, comes with the host image).

Everything comes from the local mirror (`obsbox_demo_mirror_url`): the host has no route out.
Run by obsbox.hosts.demo_app.deploy_demo_app(); a second run changes nothing.
"""

from io import StringIO
from urllib.parse import urlsplit

from pyinfra import host
from pyinfra.operations import files, pip, server, systemd
from pyinfra.operations.util import any_changed

HOME = "/opt/obsbox-demo"
VENV = f"{HOME}/venv"
MIRROR = host.data.get("obsbox_demo_mirror_url")
EXAMPLES_SHA256 = host.data.get("obsbox_demo_examples_sha256")
PORT = int(host.data.get("obsbox_demo_port", 8000))
METRICS_PORT = int(host.data.get("obsbox_demo_metrics_port", 9464))
PAYMENTS_PORT = int(host.data.get("obsbox_demo_payments_port", 8081))
WORKER_METRICS_PORT = int(host.data.get("obsbox_demo_worker_metrics_port", 9465))
WORKER_SERVICE_NAME = host.data.get("obsbox_demo_worker_service_name", "invoicing-demo-worker")
JOB_QUEUE = host.data.get("obsbox_demo_job_queue", "invoices")
REDIS_URL = "redis://127.0.0.1:6379/0"
# A work horse per job leaves its prometheus_client files behind until the worker restarts
# (docs/jobs.md): the worker exits cleanly after this many jobs and systemd starts it again.
WORKER_MAX_JOBS = 20000
# The collector on the host: when set, every signal goes there over OTLP and the service serves
# no /metrics of its own (one path per service, so nothing is counted twice).
OTLP_ENDPOINT = host.data.get("obsbox_demo_otlp_endpoint") or ""
if not MIRROR or not EXAMPLES_SHA256:
    raise ValueError("obsbox_demo_mirror_url and obsbox_demo_examples_sha256 are required")

_HARDENING = """DynamicUser=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
"""


def _unit(
    description: str, exec_start: str, env: dict[str, str], state: bool = False, after: str = "", service: str = ""
) -> str:
    lines = [f"Environment={k}={v}" for k, v in sorted(env.items())]
    extra = "StateDirectory=obsbox-demo\n" if state else ""
    needs = f"Wants={after}\nAfter=network.target {after}" if after else "After=network.target"
    return (
        f"[Unit]\nDescription={description}\n{needs}\n\n"
        f"[Service]\nWorkingDirectory={HOME}/src\nExecStart={exec_start}\n"
        + "\n".join(lines)
        + f"\n{service or 'Restart=on-failure'}\n{extra}{_HARDENING}\n[Install]\nWantedBy=multi-user.target\n"
    )


def _otlp_env() -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
    } if OTLP_ENDPOINT else {"OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


files.directory(name=f"Create {HOME}/src", path=f"{HOME}/src", present=True, mode="755")
pip.venv(name=f"Create the virtualenv {VENV}", path=VENV, python="python3")
installed = pip.packages(
    name="Install the demo's packages from the local mirror's wheelhouse",
    packages=["obsbox-instrumentation[flask,requests,redis,rq]", "flask", "requests", "redis", "rq"],
    pip=f"{VENV}/bin/pip",
    # Plain HTTP is the point: the mirror is this machine's end of the host's own veth pair.
    extra_install_args=f"--no-index --find-links {MIRROR}/demo/wheels/ --trusted-host {urlsplit(MIRROR).hostname}",
)
sources = files.download(
    name=f"Download {HOME}/examples.tar.gz",
    src=f"{MIRROR}/demo/examples.tar.gz",
    dest=f"{HOME}/examples.tar.gz",
    sha256sum=EXAMPLES_SHA256,
)
server.shell(
    name=f"Unpack the demo sources into {HOME}/src",
    commands=[f"rm -rf {HOME}/src/examples && tar -C {HOME}/src -xzf {HOME}/examples.tar.gz"],
    _if=sources.did_change,
)

payments_unit = files.put(
    name="Upload /etc/systemd/system/obsbox-demo-payments.service",
    src=StringIO(
        _unit(
            "obsbox demo: payments dependency",
            f"{VENV}/bin/python -m examples.payments_service --port {PAYMENTS_PORT}",
            {},
        )
    ),
    dest="/etc/systemd/system/obsbox-demo-payments.service",
)
app_unit = files.put(
    name="Upload /etc/systemd/system/obsbox-demo.service",
    src=StringIO(
        _unit(
            "obsbox demo: multi-tenant invoicing service",
            f"{VENV}/bin/python -m examples.demo_service --port {PORT}",
            {
                "OTEL_SERVICE_NAME": "invoicing-demo",
                "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
                **(
                    {
                        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
                        "OTEL_TRACES_EXPORTER": "otlp",
                        "OTEL_LOGS_EXPORTER": "otlp",
                        "OTEL_METRICS_EXPORTER": "otlp",
                        # The demo evaluates its rules every 2 s; the SDK's default 60 s export
                        # interval would add a minute before an incident shows.
                        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
                        "OBSBOX_PROMETHEUS_ENABLED": "false",
                    }
                    if OTLP_ENDPOINT
                    else {
                        "OTEL_TRACES_EXPORTER": "none",
                        "OTEL_LOGS_EXPORTER": "none",
                        "OTEL_METRICS_EXPORTER": "none",
                        "OBSBOX_PROMETHEUS_PORT": str(METRICS_PORT),
                    }
                ),
                "OBSBOX_DEMO_PAYMENTS_URL": f"http://127.0.0.1:{PAYMENTS_PORT}",
                "OBSBOX_DEMO_FAULTS_FILE": "/var/lib/obsbox-demo/faults.json",
                "PROMETHEUS_MULTIPROC_DIR": "/var/lib/obsbox-demo/prometheus",
            },
            state=True,
            after="redis-server.service",
        )
    ),
    dest="/etc/systemd/system/obsbox-demo.service",
)
worker_unit = files.put(
    name="Upload /etc/systemd/system/obsbox-demo-worker.service",
    src=StringIO(
        _unit(
            "obsbox demo: invoice-rendering RQ worker",
            f"{VENV}/bin/obsbox-instrument {VENV}/bin/rq worker --url {REDIS_URL} --max-jobs {WORKER_MAX_JOBS} "
            f"--logging_level WARNING {JOB_QUEUE}",
            {
                "OTEL_SERVICE_NAME": WORKER_SERVICE_NAME,
                **_otlp_env(),
                # Metrics once, from the worker's own page, which sums every work horse's files;
                # Prometheus on the host scrapes it (job=WORKER_SERVICE_NAME).
                "OTEL_METRICS_EXPORTER": "none",
                "OBSBOX_PROMETHEUS_PORT": str(WORKER_METRICS_PORT),
                # Read the queue's depth and oldest job from Redis every 5 s, not every 15 s.
                "OBSBOX_JOBS_QUEUE_INTERVAL": "5",
            },
            after="redis-server.service",
            # --max-jobs ends the worker with status 0; a warm shutdown signals the main process
            # only, so the job in its work horse finishes (RQ's own advice).
            service="Restart=always\nKillMode=mixed",
        )
    ),
    dest="/etc/systemd/system/obsbox-demo-worker.service",
)
systemd.daemon_reload(
    name="Reload systemd for the demo units", _if=any_changed(payments_unit, app_unit, worker_unit)
)
systemd.service(name="Start redis-server.service", service="redis-server.service", running=True, enabled=True)
for unit in ("obsbox-demo-payments.service", "obsbox-demo.service", "obsbox-demo-worker.service"):
    systemd.service(name=f"Start {unit}", service=unit, running=True, enabled=True)
    # Restart only when something it runs changed, so a re-run changes nothing.
    systemd.service(
        name=f"Restart {unit} for new code or settings",
        service=unit,
        restarted=True,
        _if=any_changed(sources, installed, payments_unit, app_unit, worker_unit),
    )
