"""Reading nasx's own JSON files with one-line errors (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasx.errors import NasxError


def load_json(path: Path, error: type[NasxError], *, missing: str, unreadable: str) -> Any:
    """The parsed JSON of ``path``.

    Args:
        error: the :class:`NasxError` subclass raised.
        missing: the message when ``path`` does not exist.
        unreadable: the message when it cannot be read or parsed; ``{reason}`` (the parser's
            first line) and ``{kind}`` (the exception's class name) are filled in.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(missing) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise error(unreadable.format(reason=reason, kind=exc.__class__.__name__)) from None
