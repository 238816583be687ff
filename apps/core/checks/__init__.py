"""Folio's system checks: every rule once, as a Django check tagged with the targets it speaks about.

ids.py is the table (id, topic, targets, which runs report it); rules.py turns a function into the registered
check for one id; targets.py says which target a run is about. `manage.py check` runs them with Django's own,
`check --deploy` adds the deployment ones, and `preflight --target T` is `check --deploy` narrowed to T plus the
rules that need a named target: what the machine holds, the database itself (probes.py).
"""
