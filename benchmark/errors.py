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
