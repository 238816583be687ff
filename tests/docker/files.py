"""The Docker files read the way Docker reads them, for tests on a machine without a Docker engine."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.project import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_DEV = ROOT / "docker-compose.yml"
COMPOSE_PRODUCTION = ROOT / "docker-compose.production.yml"
DOCKER_DIR = ROOT / "deploy" / "docker"
NGINX_TEMPLATE = DOCKER_DIR / "nginx" / "default.conf.template"
# What each env_file of the production compose file is made from (the real files hold secrets and are not in git).
ENV_FILE_TEMPLATES = {
    ".env.production": DOCKER_DIR / "production.env.example",
    ".env.postgres": DOCKER_DIR / "postgres.env.example",
}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: str


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped, each tagged with its stage."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result: list[Instruction] = []
    stage = ""
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        arguments = " ".join(arguments.split())
        if keyword == "FROM":
            words = arguments.split()
            stage = words[2] if len(words) == 3 and words[1].upper() == "AS" else words[0]
        result.append(Instruction(keyword, arguments, stage))
    return result


def stage(name: str, path: Path = DOCKERFILE) -> list[Instruction]:
    return [item for item in instructions(path) if item.stage == name]


def final_stage(path: Path = DOCKERFILE) -> list[Instruction]:
    return stage(instructions(path)[-1].stage, path)


def base_image(items: list[Instruction]) -> str:
    return next(item.arguments.split()[0] for item in items if item.keyword == "FROM")


def environment(items: list[Instruction], inherited: dict[str, str] | None = None) -> dict[str, str]:
    """The ENV a stage ends with, `$NAME` and `${NAME}` expanded against what came before, as Docker does."""
    values = dict(inherited or {})
    for item in items:
        if item.keyword != "ENV":
            continue
        for word in shlex.split(item.arguments):
            name, _, value = word.partition("=")
            values[name] = re.sub(r"\$\{?(\w+)\}?", lambda match: values.get(match.group(1), ""), value)
    return values


def exec_form(item: Instruction) -> list[str]:
    """A JSON-array CMD/ENTRYPOINT/HEALTHCHECK CMD as its argument list."""
    arguments = item.arguments
    if item.keyword == "HEALTHCHECK":
        arguments = arguments[arguments.index("CMD ") + len("CMD ") :]
    return json.loads(arguments)


def only(items: list[Instruction], keyword: str) -> Instruction:
    found = [item for item in items if item.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the stage, found {len(found)}"
    return found[0]


# Compose


def compose(path: Path) -> dict:
    """A compose file with YAML merge keys resolved (as Compose does)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def interpolate(value: str, variables: dict[str, str] | None = None) -> str:
    """Compose's `${NAME:-default}` / `${NAME:?error}` / `${NAME}` with `variables` as the shell's environment."""
    variables = variables or {}

    def replace(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2) or "", match.group(3) or ""
        if variables.get(name):
            return variables[name]
        if operator == ":-":
            return word
        if operator == ":?":
            raise KeyError(f"{name}: {word}")
        return ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", replace, value)


def service_environment(service: dict, variables: dict[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.partition("=")[::2] for item in raw)
    return {name: interpolate(str(value), variables) for name, value in raw.items()}


def env_file_paths(service: dict) -> list[str]:
    entries = service.get("env_file") or []
    entries = [entries] if isinstance(entries, str) else entries
    return [entry if isinstance(entry, str) else entry["path"] for entry in entries]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def env_file_values(service: dict) -> dict[str, str]:
    """What a service's env files hold, read from their committed templates."""
    values: dict[str, str] = {}
    for path in env_file_paths(service):
        values.update(read_env_file(ENV_FILE_TEMPLATES[path]))
    return values
