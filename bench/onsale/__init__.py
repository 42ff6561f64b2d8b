"""A flash sale under fault: thousands of simulated buyers race for a few hundred seats through the real API on
PostgreSQL while the worker is SIGKILLed and the Temporal server restarted; then ``boxoffice check``.

Run: ``.venv/bin/python -m bench.onsale`` (``--help`` for options; about 5 minutes on 2 cores). In one run it

1. creates a throwaway database (``boxoffice_onsale_<pid>``), migrates it and seeds an event of 300 seats (General,
   and a dearer front row of a fifth of them); serves the Paystack, Yoco and Stripe fakes from ``tests/fakes`` (their
   real APIs and webhook signatures) from this process; starts a Temporal dev server on fixed ports with its state in
   a file, ``boxoffice worker`` and ``boxoffice api`` with short windows (payment 40 s, polled every 10 s; holds live
   120 s; a 60 s late-payment grace; production's are 900 s, 600 s and 3600 s), so every abandoned checkout ends
   within the run;
2. lets 2,000 buyers loose within 3 seconds, at most 500 requests in flight: each holds 1 or 2 seats (sold out, it
   looks again, up to 8 holds in 120 s, while seats come back), checks out with the sandbox (played by the API) or a
   fake, then pays, declines, abandons, cancels or pays late (after the checkout gave up, within or after its grace
   period); a tenth of the payments' webhooks are lost and a tenth duplicated; the buyer's app honours
   ``expires_at`` (past it, it says the reservation ran out); the providers settle every refund they are asked for;
3. meanwhile SIGKILLs the worker's process group at 10, 40 and 75 s (a supervisor starts it again 2 s later) and
   restarts the Temporal server at 58 s (SIGTERM, then the same ports and ``--db-filename``); a watchdog restarts a
   worker that dies unasked and reports it;
4. waits until no order is pending, no hold active, no refund in flight, every paid order fulfilled and no checkout,
   refund, late-payment or fulfilment run open; stops every process; reads the books and each provider's own books;
   runs ``boxoffice check --settled``;
5. prints seats sold, orders by final state (and against what each buyer meant to do), oversells, money a provider
   kept for an order without tickets, the check's verdict, requests by answer with latency percentiles, throughput
   and Pay → tickets latency, each beside what it is compared with, and the CPU each process group used (this box
   is shared: "everything else" and the load average say how quiet it was).

The exit status is 0 only when nothing was oversold, no money was kept without tickets, ``boxoffice check`` was
clean and everything settled.

Modules: ``plan`` (the crowd, drawn from a seed), ``stack`` (the restartable processes and the fakes), ``traffic``
(bounded, timed HTTP), ``buyers`` (what a buyer does), ``providers`` (paying, webhooks' fates, the providers' back
offices), ``chaos`` (the faults and the watchdog), ``outcome`` (settling, the books, ``boxoffice check``), ``report``
and ``run``.
"""
