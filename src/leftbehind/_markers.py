"""The project name and pluggy's two markers, in a module of their own.

:mod:`leftbehind.hookspecs` marks its specs with the spec marker and the built-in plugins (and
backends) mark their hooks with :data:`hookimpl`; neither needs :mod:`leftbehind.plugins`, the
facade that loads them, so this module imports nothing of leftbehind. Plugins import
:data:`hookimpl` from :mod:`leftbehind.plugins`, which re-exports it.
"""

from __future__ import annotations

from typing import Final

import pluggy

__all__ = ["NAME", "hookimpl", "hookspec"]

#: The project name: pluggy's project, the entry-point group, the hook prefix.
NAME: Final = "leftbehind"
#: Marks a plugin's hook implementations: ``@hookimpl def leftbehind_storage_backends(): ...``.
hookimpl: Final = pluggy.HookimplMarker(NAME)
#: Marks the hook specifications of :mod:`leftbehind.hookspecs` (private to leftbehind).
hookspec: Final = pluggy.HookspecMarker(NAME)
