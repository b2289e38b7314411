"""One host runs the whole stack, every service on loopback.

    cd deploy   # so pyinfra finds group_data/ (pinned versions)
    ../.venv/bin/pyinfra inventories/all_in_one.py deploy.py --ssh-user root

Replace the address with your host's, and the three webhook URLs with your own: the deploy
refuses to run while any of them is unset, since alerts would then reach nobody. Services
listen on 127.0.0.1 only: reach Grafana through an SSH tunnel (ssh -L 3000:127.0.0.1:3000 HOST),
or set obsbox_bind_address to an internal address (then with authentication, see multi_host.py).
Grafana's archive needs grafana_archive_url and grafana_archive_sha256 (the deploy names them).
"""

obsbox = [
    (
        "obsbox.internal.example",
        {
            "obsbox_bind_address": "127.0.0.1",
            # The services the company runs, scraped directly. What they also push over OTLP is
            # dropped for these jobs, so each service is counted once.
            "prometheus_service_targets": {"billing-api": ["127.0.0.1:9464"]},
            # Critical alerts page, warnings open tickets (your paging and ticketing webhooks).
            "alertmanager_page_webhook_url": "https://alerts.example.com/obsbox/page",
            "alertmanager_ticket_webhook_url": "https://alerts.example.com/obsbox/ticket",
            # A dead man's switch outside this host (e.g. a healthchecks.io check): it alerts you
            # when the always-firing Watchdog stops arriving, i.e. when alerting itself is down.
            "alertmanager_watchdog_webhook_url": "https://hc-ping.example.com/obsbox-watchdog",
        },
    ),
]
