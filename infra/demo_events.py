#!/usr/bin/env python3
"""The events-and-replies demo on `make dev` (issues 5 and 6): a campaign is
launched to a person, a second one and the SES simulator's bounce, complaint
and out-of-office addresses; the devstack's clock is moved to the first send;
then a person opens and clicks (/dev/simulate), replies (/dev/inbound), and
the campaign's stats, the live feed and the inbox show what happened.

Usage: python3 infra/demo_events.py [--base http://127.0.0.1:3000] [--key <admin key>]
Without --key it creates a tenant of its own (with the operator key in
.devstack/state.json), so it can run again and again.
Exits non-zero when something is not as expected.
"""

import argparse
import json
import pathlib
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent


def call(base, key, method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            text = response.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        raise SystemExit(f"{method} {path} answered {err.code}: {err.read().decode()}")


def header(raw, name):
    head = raw.split("\r\n\r\n", 1)[0]
    value = None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and value is not None:
            value += " " + line.strip()
            continue
        if value is not None:
            break
        key, _, rest = line.partition(":")
        if key.lower() == name.lower():
            value = rest.strip()
    return value


def wait_for(check, what, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:3000")
    parser.add_argument("--key")
    args = parser.parse_args()
    base = args.base
    key = args.key
    if not key:
        # A tenant of its own: bounces and complaints suppress those addresses
        # tenant-wide, so a second run in the demo tenant would send them nothing.
        operator = json.loads((ROOT / ".devstack/state.json").read_text())["operator_key"]
        tenant = call(base, operator, "POST", "/v1/tenants", {"name": f"Events demo {uuid.uuid4().hex[:6]}"})
        key = tenant["admin_api_key"]

    sender = f"events-demo-{uuid.uuid4().hex[:8]}@demo.example.com"
    mailbox = call(base, key, "POST", "/v1/mailboxes",
                   {"email": sender, "timezone": "UTC", "daily_cap": 100, "min_gap_seconds": 0})
    call(base, key, "GET", f"/v1/mailboxes/{mailbox['id']}")
    template = call(base, key, "POST", "/v1/templates", {
        "name": "Events demo", "subject": "Quick question, {{ first_name | default('there') }}",
        "text": "Hi {{ first_name | default('there') }}, worth a chat? https://acme.example/pricing",
        "html": "<p>Hi {{ first_name | default('there') }}, worth a chat? "
                "<a href=\"https://acme.example/pricing\">Pricing</a></p>"})
    campaign = call(base, key, "POST", "/v1/campaigns", {
        "name": f"Events demo {uuid.uuid4().hex[:6]}",
        "settings": {"mailbox_ids": [mailbox["id"]], "track_opens": True, "track_clicks": True,
                     "window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                "start": "00:00", "end": "23:59"}}})
    cid = campaign["id"]
    call(base, key, "PUT", f"/v1/campaigns/{cid}/sequence", {"steps": [
        {"variants": [{"template_id": template["id"]}]},
        {"delay_days": 2, "same_thread": True, "variants": [{"template_id": template["id"]}]}]})
    addresses = ["ann@prospect.example", "bob@prospect.example", "bounce@simulator.amazonses.com",
                 "complaint@simulator.amazonses.com", "ooto@simulator.amazonses.com"]
    call(base, key, "POST", f"/v1/campaigns/{cid}/leads",
         {"leads": [{"email": a, "first_name": "Ann" if a.startswith("ann") else None} for a in addresses]})
    launch = call(base, key, "POST", f"/v1/campaigns/{cid}/activate", {})
    print(f"launched {cid}: {launch['launch']['scheduled']} emails planned")
    call(base, None, "POST", "/dev/clock/advance", {"seconds": 600})

    def emails():
        return call(base, key, "GET", f"/v1/campaigns/{cid}/emails?limit=500")["items"]

    def settled():
        first = [e for e in emails() if e["step"] == 1]
        done = {"delivered", "bounced", "complained"}
        return first if len(first) == 5 and all(e["status"] in done for e in first) else None

    first = wait_for(settled, "the first emails to be delivered, bounced or complained about")
    by_status = sorted(e["status"] for e in first)
    print("step 1:", by_status)
    assert by_status == ["bounced", "complained", "delivered", "delivered", "delivered"], by_status

    ann_lead = next(l for l in call(base, key, "GET", f"/v1/campaigns/{cid}/leads")["items"]
                    if l["email"] == "ann@prospect.example")
    ann_email = next(e for e in first if e["lead_id"] == ann_lead["id"])
    call(base, None, "POST", "/dev/simulate/open", {"email_id": ann_email["id"]})
    call(base, None, "POST", "/dev/simulate/click",
         {"email_id": ann_email["id"], "link": "https://acme.example/pricing"})
    outbox = call(base, None, "GET", "/dev/outbox")["items"]
    sent = next(m for m in outbox if m["id"] == ann_email["ses_message_id"])
    reply_to = header(sent["raw"], "Reply-To").strip("<>")
    message_id = header(sent["raw"], "Message-ID")
    reply = (f"From: Ann <ann@prospect.example>\r\nTo: {reply_to}\r\nSubject: Re: Quick question\r\n"
             f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\nContent-Type: text/plain\r\n\r\n"
             "Yes, interested! Can we talk on Thursday?\r\n\r\n> Hi Ann, worth a chat?\r\n").encode()
    call(base, None, "POST", "/dev/inbound", raw=reply, content_type="message/rfc822")

    def replied():
        stats = call(base, key, "GET", f"/v1/campaigns/{cid}/stats")
        return stats if stats["replied"] == 1 and stats["clicked"] == 1 else None

    stats = wait_for(replied, "the reply and the click to be counted")
    shown = {k: stats[k] for k in ("leads", "sent", "delivered", "opened", "clicked", "bounced_hard",
                                   "complained", "unsubscribed", "replied", "positive_replies")}
    print("stats:", json.dumps(shown))
    assert (stats["sent"], stats["delivered"], stats["bounced_hard"], stats["complained"]) == (5, 4, 1, 1), shown
    assert (stats["opened"], stats["clicked"], stats["replied"]) == (1, 1, 1), shown

    inbox = call(base, key, "GET", f"/v1/replies?campaign_id={cid}&kind=all")["items"]
    print("inbox:", [(r["kind"], r["classification"]) for r in inbox])
    kinds = sorted(r["kind"] for r in inbox)
    assert kinds == ["auto_reply", "human"], kinds
    time.sleep(2.5)  # the feed shows what settled for two seconds
    feed = call(base, key, "GET", "/v1/activity?limit=500")["items"]
    ours = [a["kind"] for a in feed if a.get("campaign_id") == cid]
    for kind in ("email.sent", "email.delivered", "email.opened", "email.clicked", "email.bounced",
                 "email.complained", "reply.received"):
        assert kind in ours, f"{kind} missing from the live feed: {sorted(set(ours))}"
    print(f"live feed: {len(ours)} entries for the campaign, every kind present")
    print("events demo: OK")


if __name__ == "__main__":
    main()
