"""Apply as one transaction: journal, atomic push, KV projection, compensation, recovery, ledger."""
