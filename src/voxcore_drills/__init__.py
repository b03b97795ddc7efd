"""Fault drills (`make drills`): the whole platform on this machine, broken on purpose while a
campaign runs, then audited (docs/drills.md)."""
