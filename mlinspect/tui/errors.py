"""Keeping the UI running when an event handler fails."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def shows_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a widget's event handler so that an exception becomes an error notification.

    Key bindings are covered by `MlinspectApp.run_action`; message handlers
    such as `Select.Changed` run outside it and need this decorator.
    """

    @functools.wraps(handler)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a failing handler is reported, not fatal
            self.app.report_error(error, handler.__name__.strip("_").replace("_", " "))
            return None

    return wrapper
