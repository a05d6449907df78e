"""A small, stateful Stripe-compatible HTTP server for the billing tests.

It speaks the real wire protocol of the endpoints clipdex uses (form-encoded bodies with
``a[b][0]=`` nesting, ``Authorization: Bearer sk_...``, ``Idempotency-Key`` replay, Stripe's list
and error envelopes, API version 2026-10-28.endive object shapes), so the official ``stripe``
library talks to it unchanged through ``api_base``. What Stripe does on its own (a customer paying
in Checkout, a card failing at renewal) the tests trigger through the methods below, which
return the events Stripe would send; with ``webhook_url`` set they are also delivered, signed
like Stripe signs them (HMAC-SHA256 over ``t.payload`` in ``Stripe-Signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

API_VERSION = "2026-10-28.endive"
MONTH = 30 * 24 * 3600


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value for ``payload``, computed as Stripe does."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(node):
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message, "code": code,
                                                    "param": param}}


def _missing(kind: str, oid: str) -> StripeError:
    return StripeError(404, f"No such {kind}: '{oid}'", code="resource_missing", param="id")


class FakeStripe:
    """The server's state and behaviour; ``StripeServer`` wraps it in HTTP."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.base_url = ""
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict]] = {k: {} for k in (
            "product", "price", "meter", "customer", "checkout.session", "billing_portal.session", "subscription",
            "invoice")}
        self.meter_events: list[dict] = []
        self._pending: list[dict] = []  # events of API calls, delivered after the answer (deliver_pending)
        self.events: list[dict] = []
        self.idempotency: dict[str, tuple[str, int, dict]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, idempotency key
        self.hang_meter_events = threading.Event()
        self.release_hang = threading.Event()
        self.meter_event_received = threading.Event()
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._seq = itertools.count(1)

    # --- helpers ---------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._seq):06d}{secrets.token_hex(4)}"

    def get(self, kind: str, oid: str) -> dict:
        obj = self.objects[kind].get(oid)
        if obj is None:
            raise _missing(kind.split(".")[-1], oid)
        return obj

    def _list(self, items: list[dict], url: str, limit: int = 10) -> dict:
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def _event(self, etype: str, obj: dict, previous: dict | None = None) -> dict:
        data: dict[str, Any] = {"object": json.loads(json.dumps(obj))}
        if previous:
            data["previous_attributes"] = previous
        event = {"id": self.new_id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": int(time.time()), "data": data, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": etype}
        self.events.append(event)
        return event

    # --- API endpoints ---------------------------------------------------------------------
    def create_product(self, p: dict) -> dict:
        pid = p.get("id") or self.new_id("prod")
        if pid in self.objects["product"]:
            raise StripeError(400, "Product already exists.", code="resource_already_exists", param="id")
        obj = {"id": pid, "object": "product", "active": p.get("active", "true") != "false", "name": p["name"],
               "description": p.get("description"), "metadata": p.get("metadata", {}), "created": int(time.time()),
               "updated": int(time.time()), "livemode": False, "default_price": None, "images": [],
               "marketing_features": [], "package_dimensions": None, "shippable": None,
               "statement_descriptor": None, "tax_code": None, "type": "service", "unit_label": None, "url": None}
        self.objects["product"][pid] = obj
        return obj

    def update_product(self, pid: str, p: dict) -> dict:
        obj = self.get("product", pid)
        if "name" in p:
            obj["name"] = p["name"]
        if "active" in p:
            obj["active"] = p["active"] == "true"
        if "metadata" in p:
            obj["metadata"] = {**obj["metadata"], **p["metadata"]}
        obj["updated"] = int(time.time())
        return obj

    def create_price(self, p: dict) -> dict:
        self.get("product", p["product"])
        rec = p.get("recurring")
        if rec and rec.get("usage_type") == "metered" and rec.get("meter") not in self.objects["meter"]:
            raise StripeError(400, "A metered price needs an existing meter.", param="recurring[meter]")
        key = p.get("lookup_key")
        holders = [x for x in self.objects["price"].values() if key and x["lookup_key"] == key]
        if holders and p.get("transfer_lookup_key") != "true":
            raise StripeError(400, f"A price (`{holders[0]['id']}`) already uses that lookup key.",
                              param="lookup_key")
        for other in holders:
            other["lookup_key"] = None
        tiers = [{"up_to": None if t["up_to"] == "inf" else int(t["up_to"]),
                  "unit_amount": int(t["unit_amount"]) if "unit_amount" in t else None,
                  "unit_amount_decimal": t.get("unit_amount_decimal", t.get("unit_amount")),
                  "flat_amount": None, "flat_amount_decimal": None} for t in p.get("tiers", [])]
        obj = {"id": self.new_id("price"), "object": "price", "active": True, "currency": p["currency"],
               "product": p["product"], "lookup_key": key, "metadata": p.get("metadata", {}),
               "billing_scheme": p.get("billing_scheme", "per_unit"), "tiers_mode": p.get("tiers_mode"),
               "unit_amount": int(p["unit_amount"]) if "unit_amount" in p else None,
               "unit_amount_decimal": p.get("unit_amount"), "created": int(time.time()), "livemode": False,
               "nickname": None, "tax_behavior": "unspecified", "transform_quantity": None,
               "type": "recurring" if rec else "one_time", "custom_unit_amount": None,
               "recurring": None if not rec else {"interval": rec["interval"],
                                                  "interval_count": int(rec.get("interval_count", 1)),
                                                  "meter": rec.get("meter"), "trial_period_days": None,
                                                  "usage_type": rec.get("usage_type", "licensed")}}
        if tiers:
            obj["tiers"] = tiers
        self.objects["price"][obj["id"]] = obj
        return obj

    def list_prices(self, q: dict) -> dict:
        items = list(self.objects["price"].values())
        if "lookup_keys" in q:
            wanted = q["lookup_keys"] if isinstance(q["lookup_keys"], list) else [q["lookup_keys"]]
            items = [p for p in items if p["lookup_key"] in wanted]
        return self._list(items, "/v1/prices", int(q.get("limit", 10)))

    def create_meter(self, p: dict) -> dict:
        if any(m["event_name"] == p["event_name"] for m in self.objects["meter"].values()):
            raise StripeError(400, "An active meter with that event_name exists.", param="event_name")
        obj = {"id": self.new_id("mtr"), "object": "billing.meter", "created": int(time.time()),
               "display_name": p["display_name"], "event_name": p["event_name"], "event_time_window": None,
               "livemode": False, "status": "active", "status_transitions": {"deactivated_at": None},
               "updated": int(time.time()), "default_aggregation": {"formula": p["default_aggregation"]["formula"]},
               "customer_mapping": p.get("customer_mapping", {"event_payload_key": "stripe_customer_id",
                                                              "type": "by_id"}),
               "value_settings": p.get("value_settings", {"event_payload_key": "value"})}
        self.objects["meter"][obj["id"]] = obj
        return obj

    def create_meter_event(self, p: dict) -> dict:
        if not any(m["event_name"] == p["event_name"] for m in self.objects["meter"].values()):
            raise StripeError(400, f"No active meter was found for event name '{p['event_name']}'.",
                              param="event_name")
        ident = p.get("identifier") or self.new_id("mev")
        if any(e["identifier"] == ident for e in self.meter_events):
            raise StripeError(400, "An event with this identifier already exists.", param="identifier",
                              code="resource_already_exists")
        value = p["payload"]["value"]
        if not re.fullmatch(r"\d+", value):
            raise StripeError(400, "The value must be a whole number.", param="payload[value]")
        obj = {"object": "billing.meter_event", "created": int(time.time()), "event_name": p["event_name"],
               "identifier": ident, "livemode": False, "payload": p["payload"],
               "timestamp": int(p.get("timestamp", time.time()))}
        self.meter_events.append(obj)
        return obj

    def event_summaries(self, meter_id: str, q: dict) -> dict:
        meter = self.get("meter", meter_id)
        start, end = int(q["start_time"]), int(q["end_time"])
        total = sum(float(e["payload"]["value"]) for e in self.meter_events
                    if e["event_name"] == meter["event_name"] and e["payload"]["stripe_customer_id"] == q["customer"]
                    and start <= e["timestamp"] < end)
        summary = {"id": self.new_id("mtrusg"), "object": "billing.meter_event_summary", "aggregated_value": total,
                   "end_time": end, "livemode": False, "meter": meter_id, "start_time": start}
        return self._list([summary], f"/v1/billing/meters/{meter_id}/event_summaries")

    def create_customer(self, p: dict) -> dict:
        obj = {"id": self.new_id("cus"), "object": "customer", "name": p.get("name"), "email": p.get("email"),
               "metadata": p.get("metadata", {}), "created": int(time.time()), "livemode": False,
               "balance": 0, "currency": None, "delinquent": False, "description": None, "invoice_prefix": "CDX",
               "invoice_settings": {"default_payment_method": None}}
        self.objects["customer"][obj["id"]] = obj
        return obj

    def delete_customer(self, cid: str, p: dict) -> dict:
        """Stripe: the customer is deleted for good and its active subscriptions are cancelled at once
        (``customer.subscription.deleted`` each, then ``customer.deleted``); GET answers the deleted stub."""
        customer = self.get("customer", cid)
        if customer.get("deleted"):
            raise _missing("customer", cid)
        now = int(time.time())
        events = []
        for sub in self.objects["subscription"].values():
            if sub["customer"] == cid and sub["status"] not in ("canceled", "incomplete_expired"):
                sub.update(status="canceled", canceled_at=now, ended_at=now)
                events.append(self._event("customer.subscription.deleted", sub))
        stub = {"id": cid, "object": "customer", "deleted": True}
        events.append(self._event("customer.deleted", customer))
        self.objects["customer"][cid] = stub
        self._pending.extend(events)
        return stub

    def create_checkout_session(self, p: dict) -> dict:
        customer = self.get("customer", p["customer"])["id"]
        lines = []
        for li in p.get("line_items", []):
            price = self.get("price", li["price"])
            metered = price["recurring"] and price["recurring"]["usage_type"] == "metered"
            if metered and "quantity" in li:
                raise StripeError(400, "Quantity should not be specified for metered prices.",
                                  param="line_items[quantity]")
            lines.append({"price": price["id"], "quantity": None if metered else int(li.get("quantity", 1))})
        sid = self.new_id("cs")
        obj = {"id": sid, "object": "checkout.session", "mode": p["mode"], "customer": customer,
               "client_reference_id": p.get("client_reference_id"), "metadata": p.get("metadata", {}),
               "status": "open", "payment_status": "unpaid", "subscription": None, "invoice": None,
               "success_url": p["success_url"], "cancel_url": p.get("cancel_url"), "url": f"{self.base_url}/pay/{sid}",
               "created": int(time.time()), "expires_at": int(time.time()) + 86400, "livemode": False,
               "currency": None, "amount_total": None, "_lines": lines,
               "_subscription_metadata": (p.get("subscription_data") or {}).get("metadata", {})}
        self.objects["checkout.session"][sid] = obj
        return obj

    def create_portal_session(self, p: dict) -> dict:
        self.get("customer", p["customer"])
        bid = self.new_id("bps")
        obj = {"id": bid, "object": "billing_portal.session", "customer": p["customer"], "created": int(time.time()),
               "livemode": False, "return_url": p.get("return_url"), "url": f"{self.base_url}/portal/{bid}",
               "configuration": "bpc_test_default", "flow": None, "locale": None, "on_behalf_of": None}
        self.objects["billing_portal.session"][bid] = obj
        return obj

    def list_invoices(self, q: dict) -> dict:
        items = sorted((i for i in self.objects["invoice"].values() if i["customer"] == q.get("customer")),
                       key=lambda i: i["created"], reverse=True)
        return self._list(items, "/v1/invoices", int(q.get("limit", 10)))

    # --- what Stripe does on its own (customers paying, cards failing) ------------------------
    def _invoice(self, sub: dict, status: str) -> dict:
        amount = sum(self.objects["price"][it["price"]["id"]]["unit_amount"] or 0 for it in sub["items"]["data"])
        iid = self.new_id("in")
        number = f"CDX-{len(self.objects['invoice']) + 1:04d}"
        period = sub["items"]["data"][0]
        inv = {"id": iid, "object": "invoice", "customer": sub["customer"], "status": status, "number": number,
               "currency": "usd", "amount_due": amount, "amount_paid": amount if status == "paid" else 0,
               "amount_remaining": 0 if status == "paid" else amount, "attempt_count": 1, "created": int(time.time()),
               "period_start": period["current_period_start"], "period_end": period["current_period_end"],
               "hosted_invoice_url": f"{self.base_url}/invoice/{iid}",
               "invoice_pdf": f"{self.base_url}/invoice/{iid}/pdf",
               "livemode": False, "billing_reason": "subscription_cycle",
               "parent": {"type": "subscription_details", "quote_details": None,
                          "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]}}}
        self.objects["invoice"][iid] = inv
        sub["latest_invoice"] = iid
        return inv

    def complete_checkout(self, session_id: str) -> list[dict]:
        with self.lock:
            cs = self.get("checkout.session", session_id)
            now = int(time.time())
            sub_id = self.new_id("sub")
            items = [{"id": self.new_id("si"), "object": "subscription_item", "created": now, "metadata": {},
                      "price": json.loads(json.dumps(self.get("price", li["price"]))), "quantity": li["quantity"],
                      "subscription": sub_id, "current_period_start": now, "current_period_end": now + MONTH,
                      "discounts": [], "tax_rates": [], "billing_thresholds": None} for li in cs["_lines"]]
            sub = {"id": sub_id, "object": "subscription", "customer": cs["customer"], "status": "active",
                   "metadata": cs["_subscription_metadata"], "created": now, "start_date": now,
                   "billing_cycle_anchor": now, "cancel_at": None, "cancel_at_period_end": False, "canceled_at": None,
                   "ended_at": None, "currency": "usd", "collection_method": "charge_automatically",
                   "livemode": False, "trial_end": None, "trial_start": None, "latest_invoice": None,
                   "items": {"object": "list", "data": items, "has_more": False, "total_count": len(items),
                             "url": f"/v1/subscription_items?subscription={sub_id}"}}
            self.objects["subscription"][sub_id] = sub
            inv = self._invoice(sub, "paid")
            cs.update(status="complete", payment_status="paid", subscription=sub_id, invoice=inv["id"])
            events = [self._event("checkout.session.completed", _public(cs)),
                      self._event("customer.subscription.created", sub),
                      self._event("invoice.paid", inv), self._event("invoice.payment_succeeded", inv)]
        return self._deliver(events)

    def fail_payment(self, sub_id: str) -> list[dict]:
        with self.lock:
            sub = self.get("subscription", sub_id)
            prev = sub["status"]
            inv = self._invoice(sub, "open")
            sub["status"] = "past_due"
            events = [self._event("invoice.payment_failed", inv),
                      self._event("customer.subscription.updated", sub, {"status": prev})]
        return self._deliver(events)

    def pay(self, sub_id: str) -> list[dict]:
        with self.lock:
            sub = self.get("subscription", sub_id)
            prev = sub["status"]
            inv = self.objects["invoice"][sub["latest_invoice"]]
            inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0)
            sub["status"] = "active"
            events = [self._event("invoice.paid", inv), self._event("invoice.payment_succeeded", inv),
                      self._event("customer.subscription.updated", sub, {"status": prev})]
        return self._deliver(events)

    def cancel(self, sub_id: str) -> list[dict]:
        with self.lock:
            sub = self.get("subscription", sub_id)
            now = int(time.time())
            sub.update(status="canceled", canceled_at=now, ended_at=now)
            events = [self._event("customer.subscription.deleted", sub)]
        return self._deliver(events)

    def deliver_pending(self) -> list[dict]:
        """The events API calls caused (a customer deletion cancelling subscriptions), sent to the webhook."""
        with self.lock:
            events, self._pending = self._pending, []
        return self._deliver(events)

    def _deliver(self, events: list[dict]) -> list[dict]:
        if self.webhook_url and self.webhook_secret:
            for event in events:
                body = json.dumps(event)
                httpx.post(self.webhook_url, content=body, timeout=30, headers={
                    "Content-Type": "application/json", "Stripe-Signature": sign(body, self.webhook_secret)})
        return events


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


ROUTES = [
    ("POST", r"/v1/products", "create_product"),
    ("GET", r"/v1/products/(?P<oid>[^/]+)", "get_product"),
    ("POST", r"/v1/products/(?P<oid>[^/]+)", "update_product"),
    ("POST", r"/v1/prices", "create_price"),
    ("GET", r"/v1/prices", "list_prices"),
    ("GET", r"/v1/billing/meters", "list_meters"),
    ("POST", r"/v1/billing/meters", "create_meter"),
    ("GET", r"/v1/billing/meters/(?P<oid>[^/]+)/event_summaries", "event_summaries"),
    ("POST", r"/v1/billing/meter_events", "create_meter_event"),
    ("POST", r"/v1/customers", "create_customer"),
    ("GET", r"/v1/customers/(?P<oid>[^/]+)", "get_customer"),
    ("DELETE", r"/v1/customers/(?P<oid>[^/]+)", "delete_customer"),
    ("POST", r"/v1/checkout/sessions", "create_checkout_session"),
    ("GET", r"/v1/checkout/sessions/(?P<oid>[^/]+)", "get_checkout_session"),
    ("POST", r"/v1/billing_portal/sessions", "create_portal_session"),
    ("GET", r"/v1/subscriptions/(?P<oid>[^/]+)", "get_subscription"),
    ("GET", r"/v1/invoices", "list_invoices"),
]


class _Handler(BaseHTTPRequestHandler):
    server: "StripeServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send(self, status: int, body: dict | str, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if url.path.startswith(("/pay/", "/portal/", "/invoice/")):
            return self._page(method, url.path, raw)
        if method == "POST" and url.path in ("/_test/fail_payment", "/_test/pay", "/_test/cancel"):
            # test control (the browser e2e): what a card failing or a payment does to the newest subscription
            with fake.lock:
                latest = max(fake.objects["subscription"].values(), key=lambda x: x["created"], default=None)
            if latest is None:
                return self._send(404, {"error": {"message": "no subscription"}})
            events = getattr(fake, url.path.rsplit("/", 1)[1])(latest["id"])
            return self._send(200, {"subscription": latest["id"], "events": [e["type"] for e in events]})
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}})
        params = decode_form(parse_qsl(raw if method == "POST" else url.query, keep_blank_values=True))
        params.pop("expand", None)
        key = self.headers.get("Idempotency-Key") if method == "POST" else None
        fake.requests.append((method, url.path, key))
        if url.path == "/v1/billing/meter_events":
            fake.meter_event_received.set()
        if key and key in fake.idempotency:
            fingerprint, status, body = fake.idempotency[key]
            if fingerprint != f"{url.path}?{raw}":
                return self._send(400, {"error": {"type": "idempotency_error", "message":
                                        "Keys for idempotent requests can only be used with the same parameters "
                                        "they were first used with."}})
            return self._send(status, body, {"Idempotent-Replayed": "true", "Idempotency-Key": key})
        status, body = self._call(method, url.path, params)
        if key:
            fake.idempotency[key] = (f"{url.path}?{raw}", status, body)
        if url.path == "/v1/billing/meter_events" and fake.hang_meter_events.is_set():
            fake.release_hang.wait(120)  # the event counted, the answer never comes: the caller is killed meanwhile
            return
        self._send(status, body, {"Idempotency-Key": key} if key else None)

    def _call(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        fake = self.server.fake
        for m, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                try:
                    with fake.lock:
                        return 200, _public(self._run(name, match.groupdict().get("oid"), params))
                except StripeError as e:
                    return e.status, e.body
                except (KeyError, ValueError) as e:
                    message = f"Missing or bad parameter: {e}"
                    return 400, {"error": {"type": "invalid_request_error", "message": message}}
        message = f"Unrecognized request URL ({method}: {path})."
        return 404, {"error": {"type": "invalid_request_error", "message": message}}

    def _run(self, name: str, oid: str | None, params: dict) -> dict:
        fake = self.server.fake
        getters = {"get_product": "product", "get_customer": "customer", "get_checkout_session": "checkout.session",
                   "get_subscription": "subscription"}
        if name in getters:
            return fake.get(getters[name], oid)
        if name == "list_meters":
            return fake._list(list(fake.objects["meter"].values()), "/v1/billing/meters", int(params.get("limit", 10)))
        fn = getattr(fake, name)
        return fn(oid, params) if oid else fn(params)

    def _page(self, method: str, path: str, raw: str) -> None:
        """The pages a customer sees at Stripe: hosted Checkout, the portal, an invoice."""
        fake = self.server.fake
        parts = path.strip("/").split("/")
        if parts[0] == "pay" and len(parts) == 2 and parts[1] in fake.objects["checkout.session"]:
            cs = fake.objects["checkout.session"][parts[1]]
            if method == "POST":
                if cs["status"] == "open":
                    fake.complete_checkout(cs["id"])
                return self._send(303, "", {"Location": cs["success_url"]}, "text/plain")
            total = sum(fake.objects["price"][li["price"]]["unit_amount"] or 0 for li in cs["_lines"])
            page = (f"<!doctype html><title>Checkout</title><h1>Test checkout</h1><p>Subscription: "
                    f"${total / 100:.2f} per month plus metered usage</p><form method=post>"
                    f"<button type=submit>Pay and subscribe</button></form>")
            return self._send(200, page, content_type="text/html")
        if parts[0] == "portal" and len(parts) == 2 and parts[1] in fake.objects["billing_portal.session"]:
            ps = fake.objects["billing_portal.session"][parts[1]]
            page = ("<!doctype html><title>Portal</title><h1>Customer portal</h1>"
                    f"<a href='{html.escape(ps['return_url'] or '/')}'>Return</a>")
            return self._send(200, page, content_type="text/html")
        if parts[0] == "invoice" and len(parts) >= 2 and parts[1] in fake.objects["invoice"]:
            inv = fake.objects["invoice"][parts[1]]
            return self._send(200, f"Invoice {inv['number']}: {inv['amount_due'] / 100:.2f} {inv['currency']}",
                              content_type="text/plain")
        self._send(404, "not found", content_type="text/plain")


class StripeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api_key: str = "sk_test_clipdex", host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.fake = FakeStripe(api_key)
        self.url = f"http://{host}:{self.server_address[1]}"
        self.fake.base_url = self.url
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> "StripeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.fake.release_hang.set()
        self.shutdown()
        self.server_close()
