"""The Docker test bed for the tests of this package: one engine, the stand-in base images, the project's image.

Each is built at most once per run and cached between runs (harness/docker/standins.py). Package-scoped, not
session-scoped: the engine is one per machine (harness/docker/engine.py), so it is given back as soon as the last
Docker test ends, instead of being held while the rest of the suite runs and another run on the machine waits.
A missing engine skips, or fails under FOLIO_REQUIRE_SERVICES=1 (CI), with the reason.
"""

from __future__ import annotations

import subprocess

import pytest

from harness.availability import unavailable
from harness.docker import project
from harness.docker.engine import EngineUnavailable, cache_home, running_engine
from harness.docker.standins import StandInError, ensure_standins, referenced_images


@pytest.fixture(scope="package")
def engine():
    try:
        with running_engine() as started:
            yield started
    except EngineUnavailable as exc:
        unavailable(f"no Docker engine: {exc}")


@pytest.fixture(scope="package")
def standins(engine) -> dict[str, str]:
    """{tag: recipe} of the base images, all present in the engine."""
    try:
        timings = ensure_standins(engine)
    except (StandInError, subprocess.SubprocessError) as exc:
        pytest.fail(f"stand-in images: {exc}", pytrace=False)
    for what, seconds in timings.items():
        print(f"stand-in {what}: built in {seconds:.0f} s")
    return referenced_images()


@pytest.fixture(scope="package")
def standin(standins):
    """The tag the project's files use for a recipe: standin('postgres') → 'postgres:16'."""

    def tag(recipe: str) -> str:
        return next(name for name, used in standins.items() if used == recipe)

    return tag


@pytest.fixture(scope="package")
def folio_image(engine, standins) -> str:
    try:
        seconds = project.build_project_image(engine, log=cache_home() / "project-build.log")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    size = project.image_size(engine)
    print(f"{project.IMAGE}: built in {seconds:.0f} s, {size / 1e6:.0f} MB")
    return project.IMAGE


@pytest.fixture
def network(engine):
    with project.network(engine) as created:
        yield created
