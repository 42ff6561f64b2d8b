"""The gate's figures: offline verifications per second beside raw Ed25519, and scans per second through the API
beside holds per second through the same API, each measured in the same run.

Run: ``.venv/bin/python -m bench.gate`` (``--help`` for options). In one run it

1. **offline**: signs a few thousand distinct payloads with a ring key and builds a signed gate bundle (with a
   revoked list); then, in alternating rounds, verifies every payload with ``OfflineGate`` (what a gate device
   and ``boxoffice gate verify`` do: decode, event/organisation tags, kid, Ed25519, revoked list, validity) and
   runs bare ``Ed25519PublicKey.verify`` over the same signed messages: the ceiling. Target: ≥ 0.8 of it. Both
   are counted per CPU second of the thread, in alternating chunks, so neighbours on a shared box do not skew them.
2. **online**: creates a throwaway database, migrates it, seeds an event with tens of thousands of issued
   tickets (signed by the ring the API is given), starts ``boxoffice api``, and drives ``POST /v1/scans`` with
   a fresh ticket per request (every answer an admission: the write path) from keep-alive connections, beside
   ``POST /v1/holds`` driven by ``bench.holds``' own load client against the same API process, alternating.
   Target: scans/s ≥ 0.8 of holds/s. Latency p50/p99 and the CPU of the API, PostgreSQL and the client over
   each window are printed with it, and the CPU per request (where the time goes).
3. prints each figure beside its ceiling with PASS/MISS and drops the database.

Modules: ``__main__`` (options and the run), ``offline`` (the offline figures), ``seeding`` (tickets straight into
the database), ``load`` (the scan load), ``report`` (the tables).
"""
