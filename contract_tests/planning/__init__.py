"""The plan and the budget: which creates a run makes, the ledger that caps them, the pool that sends them."""
