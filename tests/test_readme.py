"""The README's examples run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_examples_run_as_written() -> None:
    """Every ``>>>`` example of README.md, as a reader would paste it (its own imports)."""
    blocks = re.findall(r"^```pycon\n(.*?)^```$", README.read_text("utf-8"), re.M | re.S)
    assert blocks
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "README.md", str(README), 0)
    assert len(test.examples) > 20
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, results
