"""Development sessions: ``nox -s tests``, ``lint``, ``typing``, ``docs``, ``bench``, ``locale``,
``forms``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


#: The Debian packages ``forms`` needs: LibreOffice's spreadsheet (headless), CJK fonts,
#: Carlito (Calibri's metrics, so that columns are as wide as in Excel) and poppler's
#: ``pdftoppm``.
FORMS_PACKAGES = (
    "libreoffice-calc-nogui",
    "fonts-noto-cjk",
    "fonts-crosextra-carlito",
    "poppler-utils",
)
#: How many pages of each form the docs show (one when not named; 0: its last page only, where
#: a form signed off carries its approval lines).
FORMS_PAGES = {"school-zh_CN": 2, "signoff-zh_CN": 0}


def _has_fonts() -> bool:
    """Whether a CJK font and Carlito are installed."""
    if shutil.which("fc-list") is None:
        return False
    for pattern in (":lang=zh", "Carlito"):
        found = subprocess.run(["fc-list", pattern], capture_output=True, text=True, check=False)
        if not found.stdout.strip():
            return False
    return True


@nox.session(python=PYTHON)
def forms(session: nox.Session) -> None:
    """Render the printed forms to the pictures of docs/forms.md (docs/_static/forms/*.png):
    XLSX written by leftbehind (docs/forms_xlsx.py), PDF by LibreOffice headless, PNG 1200 px
    wide by pdftoppm. Installs LibreOffice, the CJK fonts and poppler with apt-get when
    missing (run as root)."""
    session.install("-e", ".")
    if not (shutil.which("soffice") and shutil.which("pdftoppm") and _has_fonts()):
        session.run("apt-get", "update", external=True)
        session.run("apt-get", "install", "-y", *FORMS_PACKAGES, external=True)
    out = Path("docs/_static/forms")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        session.run("python", "docs/forms_xlsx.py", tmp)
        for xlsx in sorted(Path(tmp).glob("*.xlsx")):
            session.run(
                "soffice",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(xlsx),
                external=True,
            )
            pages = FORMS_PAGES.get(xlsx.stem, 1)
            scale = ("-gray", "-scale-to-x", "1200", "-scale-to-y", "-1")
            pdf = str(xlsx.with_suffix(".pdf"))
            if pages == 0:
                info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True)
                last = next(
                    line.split()[-1]
                    for line in info.stdout.splitlines()
                    if line.startswith("Pages:")
                )
                target = str(out / xlsx.stem)
                only = ("-f", last, "-l", last, "-singlefile")
                session.run("pdftoppm", "-png", *scale, *only, pdf, target, external=True)
            elif pages == 1:
                target = str(out / xlsx.stem)
                session.run("pdftoppm", "-png", *scale, "-singlefile", pdf, target, external=True)
            else:
                for page in range(1, pages + 1):
                    target = str(out / f"{xlsx.stem}-{page}")
                    first = ("-f", str(page), "-l", str(page), "-singlefile")
                    session.run("pdftoppm", "-png", *scale, *first, pdf, target, external=True)
