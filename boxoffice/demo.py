"""``boxoffice demo``: buy two tickets end to end on a running stack through the sandbox provider."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx

from boxoffice.auth import Role, mint_token
from boxoffice.catalogue.seed import DEMO_ORG
from boxoffice.config import settings_or_exit


class DemoFailed(Exception):
    pass


def _ok(r: httpx.Response, what: str, status: int = 200) -> Any:
    if r.status_code != status:
        raise DemoFailed(f"{what}: HTTP {r.status_code} {r.text[:300]}")
    return r.json()


async def run_demo(api: str, ui: str, quantity: int = 2, timeout: float = 90) -> int:
    settings = settings_or_exit()
    token = mint_token(settings.jwt_secret, user=f"demo-buyer-{int(time.time())}", org=DEMO_ORG, role=Role.BUYER)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, timeout=30, headers=auth) as http:
        events = _ok(await http.get("/v1/events"), "list events")
        if not events:
            raise DemoFailed("no events in the demo organisation: is this a `boxoffice dev` stack?")
        event = events[0]
        rows = _ok(await http.get(f"/v1/events/{event['id']}/availability"), "availability")
        choice = next(
            (r for r in rows if r["pricing_model"] == "fixed" and r["on_sale"] and r["available"] >= quantity), None
        )
        if choice is None:
            raise DemoFailed("no fixed-price ticket type on sale with seats left")
        hold = _ok(
            await http.post("/v1/holds", json={"ticket_type_id": choice["ticket_type_id"], "quantity": quantity}),
            "hold seats",
            201,
        )
        print(f"held {quantity} × {choice['name']} for {event['name']} (hold {hold['id']})")
        started = time.monotonic()
        checkout = _ok(
            await http.post(
                "/v1/checkouts",
                json={
                    "hold_ids": [hold["id"]],
                    "provider": "sandbox",
                    "buyer": {"email": "demo.buyer@example.com", "name": "Demo Buyer"},
                },
                headers={"Idempotency-Key": f"demo-{hold['id']}"},
            ),
            "checkout",
            201,
        )
        order_id = checkout["order_id"]
        print(
            f"order {order_id}: {checkout['status']}, {checkout['total_amount'] / 100:.2f} {checkout['currency']} "
            f"({(time.monotonic() - started) * 1000:.0f} ms to the payment page)"
        )
        print(f"payment page: {checkout['payment_url']}")
        pay_path = httpx.URL(checkout["payment_url"]).path
        _ = (await http.get(pay_path)).text  # the page a buyer sees
        r = await http.post(pay_path, data={"action": "pay", "webhook": "normal"})
        if r.status_code not in (200, 303):
            raise DemoFailed(f"pressing Pay: HTTP {r.status_code}")
        print("pressed Pay on the sandbox page; waiting for the order to be fulfilled…")
        deadline = time.monotonic() + timeout
        order: dict[str, Any] = {}
        while time.monotonic() < deadline:
            order = _ok(await http.get(f"/v1/orders/{order_id}"), "read order")
            if order["status"] in ("fulfilled", "cancelled", "refunded"):
                break
            await asyncio.sleep(0.25)
    print()
    print(f"order id:     {order_id}")
    print(
        f"status:       {order.get('status')} (payment {order.get('payment_status')}, "
        f"fulfilment {order.get('fulfillment_status')})"
    )
    print("tickets:      " + ", ".join(t["ticket_code"] for t in order.get("tickets", [])))
    print(f"PDF:          {api}/v1/orders/{order_id}/tickets.pdf (with the buyer's token)")
    pdf_file = settings.data_dir.resolve() / "storage" / "orders" / order_id / "tickets.pdf"
    if pdf_file.exists():
        print(f"              {pdf_file}")
    eml = settings.outbox_dir.resolve() / f"tickets-{order_id}.eml"
    if eml.exists():
        print(f"e-mail:       {eml}")
    print(f"Temporal UI:  {ui}/namespaces/{settings.temporal_namespace}/workflows/checkout-{order_id}")
    return 0 if order.get("status") == "fulfilled" else 1


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_demo(args.api.rstrip("/"), args.ui.rstrip("/")))
    except (DemoFailed, httpx.HTTPError) as exc:
        print(f"demo failed: {exc}")
        return 1


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="buy two tickets end to end on a running stack (sandbox provider)")
    demo.add_argument("--api", default="http://127.0.0.1:8000")
    demo.add_argument("--ui", default="http://127.0.0.1:8233", help="the Temporal Web UI, for the link")
    demo.set_defaults(func=cmd_demo)
