"""Render the VM's deployment files (nginx site + snippets, systemd units) from deploy/*/templates/.

One source for each value: paths, the admin URL, the body limit and the security headers come from the Django
settings, the upstream from gunicorn.conf.py, the rest from the operator's command line. The templates stay in
deploy/, beside the other files an operator copies; the renderer is here because it is Django code (the template
engine, the settings) run as `manage.py render_deploy`.
"""
