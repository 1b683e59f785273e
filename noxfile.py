"""Development sessions: ``nox -s tests``, ``lint``, ``typing``, ``docs``, ``bench``, ``locale``."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typing", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"


def _group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (warnings are errors; Hypothesis profile from $HYPOTHESIS_PROFILE)."""
    session.install(".[postgresql]", *_group("test"))
    env = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    session.run("pytest", *session.posargs, env=env)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff (check and format) and the import-linter contract keeping the domain pure."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.install("-e", ".")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict over src, tests and benchmarks."""
    session.install("-e", ".[postgresql]", *_group("typing"))
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors and doctest its examples."""
    session.install("-e", ".", *_group("docs"))
    for builder in ("html", "doctest"):
        session.run(
            "sphinx-build",
            "-W",
            "-n",
            "--keep-going",
            "-b",
            builder,
            "docs",
            f"docs/_build/{builder}",
        )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in benchmarks/ and print their figures (ratios to a raw baseline)."""
    session.install(".[postgresql]", "pgserver>=0.1.4")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def locale(session: nox.Session) -> None:
    """Compile the catalogs (src/leftbehind/locale/<language>/LC_MESSAGES/<domain>.po) into the
    .mo files shipped beside them; run it after editing a .po (a test checks they agree)."""
    session.install(*_group("locale"))
    folder = "src/leftbehind/locale"
    domains = sorted({p.stem for p in Path(folder).glob("*/LC_MESSAGES/*.po")})
    for domain in domains:
        session.run("pybabel", "compile", "--statistics", "-d", folder, "-D", domain)
