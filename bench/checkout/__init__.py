"""End-to-end checkouts per second and latency on PostgreSQL, beside a no-op workflow of the same Temporal shape.

Run: ``.venv/bin/python -m bench.checkout`` (``--help`` for options). In one run it

1. creates a throwaway database (``boxoffice_bench_<pid>``), migrates it and seeds an event with a fixed-price
   ticket type of practically unlimited capacity; starts a fresh headless Temporal dev server (own state file,
   free ports, the four Boxoffice search attributes) and ``boxoffice api`` (``BOXOFFICE_PUBLIC_URL`` = its own
   URL, so the sandbox provider's API calls and webhooks go through it as they would in production);
2. measures the ceiling: ``BenchNoopCheckout``, a workflow of the checkout's Temporal shape (same start with
   search attributes, three local activities before an update-with-start returns, the same search-attribute
   upserts, a signal, a timer-guarded wait, three local activities after) whose activities do nothing, run
   by a worker subprocess on its own task queue, driven at the same client concurrency: workflows/s;
3. for each fulfilment mode (``on``: ``boxoffice worker`` exactly as deployed, so the FulfillmentWorkflow's
   WeasyPrint PDF and e-mail run on the same cores; ``off``: the same code's checkout worker alone, started
   through ``boxoffice.worker.build_workers``: the checkout still completes, its fulfilment run just waits
   on the documents queue), with the worker as a subprocess:

   * low-load latency, one buyer at a time: a hold (not timed); ``POST /v1/checkouts`` until the 201 with
     its ``payment_url`` (latency A); then Pay on the sandbox's hosted form (``POST /sandbox/pay/{ref}``,
     which posts the signed webhook to ``/v1/webhooks/sandbox``) until the order is seen ``paid`` with its
     tickets (latency B, "webhook → tickets issued"), observed by polling the database every few ms
     (``--observe api`` polls ``GET /v1/orders/{id}`` instead);
   * throughput: ``--concurrency`` buyers each looping hold → checkout → pay → tickets issued, counting
     orders whose tickets were issued inside a fixed window after a warm-up;
   * a per-step breakdown of latencies A and B from the workflows' histories (API side, matching dispatch,
     workflow task with its local activities, update/signal return path);

4. prints every figure beside its ceiling or target with PASS/MISS and the CPU each process group used, then
   stops every process and drops the database, also on failure.

The exit status is non-zero only when a checkout fails (an error status, or tickets never issued); missed
targets print MISS.

Modules: ``__main__`` (options, and the hidden worker roles), ``run`` (one run, start to finish), ``stack``
(the worker layouts and the ceiling's worker), ``roles`` (the bench's own worker processes), ``buyers`` (the
load), ``observe`` (seeing tickets issued), ``measure`` (the phases), ``breakdown`` (where the time goes),
``figures`` (what is recorded) and ``report`` (the tables). The ceiling's workflow is :mod:`bench.noop_checkout`.
"""
