"""Deploy rehearsal: the previous release serving under traffic while the next release's migrations run, then both
releases side by side on one scratch database, then the next alone; what broke is reported (`manage.py rehearse`).

One job per module: `releases` (git worktrees, virtualenvs), `scratch` (the database), `probe` (runs *inside* a
release's own interpreter), `precheck` (old models against the new schema), `servers` (Gunicorn per release),
`forms` (filling an admin form), `traffic` (reads and admin writes), `phases` (the order of a rolling deploy),
`report` (text and JSON).
"""
