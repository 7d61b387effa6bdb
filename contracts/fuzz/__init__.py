"""`hume-contracts fuzz`: the lifecycle, batch (schemathesis) and stream parts, sharing one context and ledger."""
