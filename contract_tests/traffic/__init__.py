"""Judge traffic the suite did not send: recorded files (``check-traffic``) and, later, a proxy.

Every source becomes ``validators.journal.ExchangeRecord``s (``sources``:
HAR, VCR cassettes, WireMock journals, our NDJSON); ``judge.TrafficJudge``
applies the suite's checks to each exchange and the idempotency clauses across
them; ``checking.check_files`` returns the suite's ``SuiteReport``.
"""
