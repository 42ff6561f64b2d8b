"""The gate: scanning tickets at the door, check-in policies, voids, key publication and offline gate bundles.

Following one scan: ``routes.py`` (``POST /v1/scans``) → ``scanning.py`` (the service: replay cache, decision)
→ ``identify.py`` (which ticket, and the refusals in the offline gate's order) → ``admission.py`` (the conditional
updates and the ``scans`` record) with ``policy.py`` (single entry or re-entry). Voids: ``voids.py`` then
``client.py`` (the buyer's message run). What gates are given: ``publication.py`` (``keys.json``, the signed gate
bundle; its signature and the offline verifier are kernel code, :mod:`boxoffice.ticketing.bundle`). The
``checkin-sweeper`` Schedule runs ``workflow.py`` over ``activities.py`` and ``sweep.py``.

For a scanner page (or any gate device), the API it needs:

- ``GET /.well-known/boxoffice/keys.json`` (public): pin it once, over TLS.
- ``GET /v1/events/{id}/gate-bundle`` (scanner, org_admin): refresh it whenever online. Check its ``signature``
  first: Ed25519 (WebCrypto ``{name: "Ed25519"}``, key from the pinned JWK's ``x``) by ``signature.kid`` over the
  UTF-8 bytes of the bundle without ``signature`` serialised with its object keys sorted at every level and no
  white space (``JSON.stringify`` of a key-sorted copy gives exactly these bytes: RFC 8785 for this content).
- Offline, a payload is judged as :class:`boxoffice.ticketing.bundle.OfflineGate` does (strip, upper-case,
  ``BX2:`` + 144 base45 characters → 32-byte body + 64-byte signature; body = kid 2 | ticket id 16 | event tag 3 |
  organisation tag 3 | issued_at u32 | valid_until u32, big-endian; tags = first 3 bytes of SHA-256 of
  ``"boxoffice-event:" + event id bytes`` and ``"boxoffice-organization:" + organisation id``; signed message =
  ``"BX2:" + body + event id (16 bytes) + organisation id``), in this order: malformed, wrong_event, revoked
  (``withdrawn_kids``), unknown_key, bad_signature, revoked (``revoked_ticket_ids``), expired. Then the bundle's
  ``admitted_ticket_ids`` / ``inside_ticket_ids`` and the policy (``checkin_policy``, ``policy_exceptions``) say
  whether a ticket it did not see itself already got in.
- Online, ``POST /v1/scans`` with ``{payload | ticket_code, gate_id, event_id, direction?}`` answers every read
  (200 with a ``result``); a re-read at the same gate within the replay window is ``replayed``, never counted.
- Back online, ``POST /v1/scans/batch`` with ``{event_id, gate_id, scans: [{id, payload | ticket_code, direction?,
  scanned_at}]}`` uploads what the gate let through offline: each judged and recorded as of its own moment, once
  per ``id`` (``uploads.py``).

The door staff's own scanner page is ``GET /gate`` (``page.py``, files in ``static/``; ``static/README.md`` says
what it does and trusts): camera or typed codes, online through ``POST /v1/scans``, offline from its last signed
bundle, uploading through ``POST /v1/scans/batch``.
"""
