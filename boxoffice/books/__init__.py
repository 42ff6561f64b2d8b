"""Books: the double-entry ledger, payments and the reconciliation that says whether everything agrees."""
