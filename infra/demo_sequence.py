#!/usr/bin/env python3
"""The sequence demo on `make dev`: a campaign with a 3-step sequence and 50
leads is launched, then the devstack's clock is fast-forwarded a week
(POST /dev/clock/advance) while the real scheduler and sender run, and the
emulator's sent mail (GET /dev/outbox) is compared with the planned times.

Usage: python3 infra/demo_sequence.py [--base http://127.0.0.1:3000] [--key <admin key>]
The key defaults to the demo tenant's, read from .devstack/state.json.
"""

import argparse
import json
import pathlib
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent


def call(base, key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            text = response.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        raise SystemExit(f"{method} {path} answered {err.code}: {err.read().decode()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:3000")
    parser.add_argument("--key")
    parser.add_argument("--leads", type=int, default=50)
    args = parser.parse_args()
    key = args.key or json.loads((ROOT / ".devstack/state.json").read_text())["demo_admin_key"]
    base = args.base

    run = uuid.uuid4().hex[:8]
    mailbox = call(base, key, "POST", "/v1/mailboxes", {
        "email": f"sam-{run}@demo.example.com", "display_name": "Sam from Demo",
        "daily_cap": 200, "min_gap_seconds": 60,
        "window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"},
        "timezone": "Europe/Berlin",
    })
    mailbox = call(base, key, "GET", f"/v1/mailboxes/{mailbox['id']}")  # the emulator's SES verifies at once
    templates = [
        call(base, key, "POST", "/v1/templates", {
            "name": name, "category": "marketing", "subject": subject, "text": text,
            "html": f"<p>{text}</p>"})["id"]
        for name, subject, text in [
            ("Intro", "{Quick question|Idea} for {{ company | default(\"your team\") }}",
             "Hi {{ first_name | default(\"there\") }}, would a faster onboarding help {{ company | default(\"you\") }}?"),
            ("Bump", "-", "Just bumping this up, {{ first_name | default(\"there\") }}."),
            ("Breakup", "Closing the loop", "Last note from me, {{ first_name | default(\"there\") }}."),
        ]
    ]
    campaign = call(base, key, "POST", "/v1/campaigns", {
        "name": f"Demo sequence {run}",
        "settings": {"mailbox_ids": [mailbox["id"]], "timezone": "Europe/Berlin",
                     "postal_address": "Demo GmbH, Torstr. 1, 10119 Berlin"},
    })["id"]
    call(base, key, "PUT", f"/v1/campaigns/{campaign}/sequence", {"steps": [
        {"delay_days": 0, "variants": [{"template_id": templates[0]}]},
        {"delay_days": 2, "business_days": True, "same_thread": True, "variants": [{"template_id": templates[1]}]},
        {"delay_days": 3, "variants": [{"template_id": templates[2]}]},
    ]})
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London", "America/Los_Angeles"]
    leads = [{"email": f"lead{n}-{run}@prospect.example.com", "first_name": f"Lead{n}",
              "company_name": f"Company {n}", "timezone": zones[n % len(zones)]} for n in range(args.leads)]
    added = call(base, key, "POST", f"/v1/campaigns/{campaign}/leads", {"leads": leads})
    refused = [r for r in added["results"] if r["status"] != "created"]
    if refused:
        raise SystemExit(f"leads refused: {refused[:3]}")
    launched = call(base, key, "POST", f"/v1/campaigns/{campaign}/activate", {})
    print(f"launched: {launched['launch']['scheduled']} first emails, the first at {launched['launch']['first_send_at']}")

    advanced = call(base, key, "POST", "/dev/clock/advance", {"seconds": 14 * 24 * 3600})
    print(f"clock advanced to {advanced['now']} ({advanced['ticks']} ticks, {advanced['sends_handled']} send jobs)")

    emails = []
    path = f"/v1/campaigns/{campaign}/emails?limit=500"
    while path:
        page = call(base, key, "GET", path)
        emails += page["items"]
        path = page["next_cursor"] and f"/v1/campaigns/{campaign}/emails?limit=500&cursor={page['next_cursor']}"
    outbox = {m["id"]: m for m in call(base, key, "GET", "/dev/outbox")["items"]}
    sent = [e for e in emails if e["ses_message_id"]]  # sent, delivered, opened...
    on_time = [e for e in sent if outbox.get(e["ses_message_id"], {}).get("sent_at")
               and abs(_seconds(outbox[e["ses_message_id"]]["sent_at"]) - _seconds(e["scheduled_at"])) <= 60]
    by_step = {}
    for e in sent:
        by_step[e["step"]] = by_step.get(e["step"], 0) + 1
    print(f"sent per step: {dict(sorted(by_step.items()))}; in the outbox within a minute of their slot: "
          f"{len(on_time)}/{len(sent)}")
    if len(sent) != 3 * args.leads or len(on_time) != len(sent):
        raise SystemExit("the demo did not send every step on time")


def _seconds(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    main()
