"""A fixture app whose migrations each commit one unsafe operation; never in INSTALLED_APPS of real settings."""

from django.apps import AppConfig


class UnsafeAppConfig(AppConfig):
    name = "tests.migration_fixtures.unsafe_app"
    label = "unsafe_app"
