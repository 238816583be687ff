"""The builds form's function (deploy/vercel/vercel.json): Folio's WSGI app, serving static files itself.

This form runs no collectstatic (only the zero-config form's Django detection does), so the function ships no
manifest and production's manifest storage would fail every page ("Missing staticfiles manifest entry"); WhiteNoise
serves from the apps' static folders instead (config/settings/vercel.py, STATIC_FROM_FINDERS).
"""

from __future__ import annotations

import os

os.environ.setdefault("STATIC_FROM_FINDERS", "true")

from config.wsgi import app, application

__all__ = ["app", "application"]
