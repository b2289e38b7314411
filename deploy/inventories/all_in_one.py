"""One host runs the whole stack, every service on loopback.

    cd deploy   # so pyinfra finds group_data/ (pinned versions)
    ../.venv/bin/pyinfra inventories/all_in_one.py deploy.py --ssh-user root

Replace the address with your host's. Services listen on 127.0.0.1 only: reach Grafana through
an SSH tunnel (ssh -L 3000:127.0.0.1:3000 HOST), or set obsbox_bind_address to an internal
address.
"""

obsbox = [
    (
        "obsbox.internal.example",
        {
            "obsbox_bind_address": "127.0.0.1",
            # The services the company runs, scraped directly (besides what they send over OTLP).
            "prometheus_service_targets": {"billing-api": ["127.0.0.1:9464"]},
            "alertmanager_page_webhook_url": "http://127.0.0.1:5001/page",
            "alertmanager_ticket_webhook_url": "http://127.0.0.1:5001/ticket",
        },
    ),
]
