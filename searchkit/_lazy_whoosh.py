"""Load ``whoosh.lang.morph_en`` only when something calls into it.

``whoosh.query`` imports it for the ``Variations`` query, which searchkit
never builds; loading it compiles several hundred regular expressions,
about 15 ms of every cold ``searchkit query`` (budget: 250 ms in all). The
stand-in below loads the real module the first time any name in it is used,
so code that does use variations still works.
"""

from __future__ import annotations

import importlib
import sys
import types

NAME = "whoosh.lang.morph_en"


class _StandIn(types.ModuleType):
    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(load(), attr)


def variations(word: str):
    """``whoosh.lang.morph_en.variations``, loading the real module first."""
    return load().variations(word)


def load() -> types.ModuleType:
    """The real module, imported now if only the stand-in is there."""
    if isinstance(sys.modules.get(NAME), _StandIn):
        del sys.modules[NAME]
    return importlib.import_module(NAME)


def install() -> None:
    """Put the stand-in in place, unless Whoosh's query module is loaded already."""
    if NAME in sys.modules or "whoosh.query" in sys.modules:
        return
    stand_in = _StandIn(NAME, __doc__)
    stand_in.variations = variations
    sys.modules[NAME] = stand_in
