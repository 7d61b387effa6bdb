"""Keeping up with Hume: re-apply the repairs to a new upstream (``rebase``), and say what changed between two
contract versions and whom each change breaks (``diff``)."""
