"""Contracts: validate bodies, recordings and live traffic against the repaired Hume contract."""
