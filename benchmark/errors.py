"""Errors that a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input named in one line (unknown name, damaged file, mismatched zoo, ...)."""


def did_you_mean(name: str, choices) -> str:
    """' (did you mean: a, b?)' for close matches of `name` among `choices`, else ''."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def unknown(kind: str, name: str, choices) -> UserError:
    """A UserError for an unknown `kind` name that lists the valid ones."""
    choices = sorted(choices)
    return UserError(
        f"unknown {kind} {name!r}{did_you_mean(name, choices)}; valid: {', '.join(choices)}"
    )


class MethodFailure(Exception):
    """A method's own failure in one cell or one model (it raised, or proposed something the
    harness refuses), in one line naming the method and the cell or model. The unit is
    recorded as failed and the run goes on."""


def one_line(exc: BaseException) -> str:
    """The exception as one line: a MethodFailure's or UserError's message, else 'Type: first line'."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (MethodFailure, UserError)):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
