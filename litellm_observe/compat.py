"""Which LiteLLM releases this package is tested with (README "Supported LiteLLM versions").

OLDEST_SUPPORTED is the lower bound of the runtime requirement in pyproject.toml (a test keeps them
equal) and the oldest release of the compatibility matrix; SUITE_RELEASE the release the whole suite
runs on, pinned in the `test` extra (`litellm[proxy]==SUITE_RELEASE`, a test keeps them equal), so the
suite never changes with the package index: moving it is a deliberate commit; NEWEST_TESTED the newest
release the matrix runs. scripts/test installs OLDEST_SUPPORTED and NEWEST_TESTED beside the suite's
and runs the end-to-end smoke (`-m smoke`) on each (MATRIX). Reading the installed version needs no
import of litellm.
"""

from __future__ import annotations

from importlib import metadata

from . import __version__

OLDEST_SUPPORTED = "1.105.0"
SUITE_RELEASE = "1.108.7"  # what plain `pip install 'litellm[proxy]'` resolved here on 2026-12-04
NEWEST_TESTED = "1.110.2"
MATRIX = (OLDEST_SUPPORTED, NEWEST_TESTED)  # the releases besides the suite's that get the smoke


def parse(version: str) -> tuple[int, ...]:
    """'1.109.1' -> (1, 109, 1); a suffix such as '.post1' or 'rc2' ends the number."""
    out = []
    for part in version.split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
        if digits != part:
            break
    return tuple(out)


def litellm_version() -> str | None:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return None


def newer_than_tested(version: str | None) -> bool:
    return version is not None and parse(version) > parse(NEWEST_TESTED)


def older_than_supported(version: str | None) -> bool:
    return version is not None and parse(version) < parse(OLDEST_SUPPORTED)


def startup_line(version: str | None = None) -> tuple[str, str | None]:
    """(the startup line, a warning or None) for the proxy's log."""
    version = version or litellm_version()
    line = f"litellm_observe {__version__} with litellm {version or 'not installed'}"
    if newer_than_tested(version):
        return line, (
            f"litellm_observe: litellm {version} is newer than the newest release tested "
            f"({NEWEST_TESTED}); if metrics look wrong, check litellm_observe_internal_errors_total "
            "and report it with both versions"
        )
    if older_than_supported(version):
        return line, (
            f"litellm_observe: litellm {version} is older than the oldest release supported ({OLDEST_SUPPORTED})"
        )
    return line, None
