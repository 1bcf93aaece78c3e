"""The few Hub calls seqjepa makes, through huggingface_hub's public API, with one-line errors.

``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``SEQJEPA_HUB_TIMEOUT`` are read at call time. seqjepa
decides itself whether the network may be used and never asks huggingface_hub for it otherwise;
huggingface_hub's own offline switch (read when it was imported) is left alone.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import IntegrityError, WeightsNotAvailableError

__all__ = ["HubContext", "default_endpoint", "hub_timeout", "repo_files", "fetch_file", "one_line"]

_DEFAULT_ENDPOINT = "https://huggingface.co"
_DEFAULT_TIMEOUT = 10.0


def default_endpoint() -> str:
    """The Hub endpoint: ``HF_ENDPOINT`` read now (a mirror), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def hub_timeout() -> float:
    """Seconds to wait for the Hub: ``SEQJEPA_HUB_TIMEOUT`` read now, else 10."""
    raw = os.environ.get("SEQJEPA_HUB_TIMEOUT")
    if not raw:
        return _DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"SEQJEPA_HUB_TIMEOUT: expected seconds as a number, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"SEQJEPA_HUB_TIMEOUT: expected a positive number of seconds, got {raw!r}")
    return value


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    # huggingface_hub 0.x raises requests' errors, 1.x+ httpx's: recognise both without importing either
    return any("Timeout" in cls.__name__ for cls in type(exc).__mro__)


def _is_transport(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"ConnectionError", "NetworkError", "RemoteProtocolError", "TransportError", "ProtocolError"})


@dataclass
class HubContext:
    """One load's settings, and what goes into its error messages."""

    label: str  # registry name or hf-hub:repo
    repo: str
    revision: Optional[str]
    cache: Path
    offline: bool
    endpoint: str

    def not_available(self, filename: str, why: str, cause: Optional[BaseException] = None) -> WeightsNotAvailableError:
        rev = self.revision or "main"
        fix = (
            f"To fix: on a machine with network run `seqjepa download {self.label}"
            + (f" --revision {self.revision}" if self.revision else "")
            + f"` (or `seqjepa.load({self.label!r})`), then copy its cache directory to {self.cache} here"
            " (or point HF_HUB_CACHE / cache_dir at the copy); behind a mirror set HF_ENDPOINT"
        )
        mode = "on (HF_HUB_OFFLINE or local_files_only)" if self.offline else "off"
        detail = f": {one_line(cause)}" if cause is not None else ""
        return WeightsNotAvailableError(
            f"weights for {self.label!r} are not available: {why}{detail}. Looked for {self.repo}@{rev} file "
            f"{filename!r} in the cache {self.cache}; offline mode {mode}; endpoint {self.endpoint}. {fix}"
        )


def _offline_refusal(ctx: HubContext, filename: str, exc: BaseException) -> WeightsNotAvailableError:
    return ctx.not_available(
        filename,
        "huggingface_hub is in offline mode (HF_HUB_OFFLINE was set when it was imported); start a new "
        "process without HF_HUB_OFFLINE to download",
        exc,
    )


def repo_files(ctx: HubContext, filename_hint: str, revision: Optional[str] = None) -> tuple[str, dict[str, dict[str, Any]]]:
    """A revision's commit and its files' metadata (one API call; one retry on a 5xx or a dropped connection).

    ``revision`` defaults to the requested one; a recorded commit is passed to stay pinned.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    revision = revision or ctx.revision
    api = HfApi(endpoint=ctx.endpoint, library_name="seqjepa")
    info = None
    for attempt in range(2):
        if attempt:
            time.sleep(0.5)
        try:
            info = api.model_info(ctx.repo, revision=revision, files_metadata=True, timeout=hub_timeout(), token=False)
            break
        except RepositoryNotFoundError as exc:
            raise ctx.not_available(filename_hint, f"the repository {ctx.repo} does not exist on {ctx.endpoint} (or is private)", exc) from exc
        except RevisionNotFoundError as exc:
            raise ctx.not_available(filename_hint, f"revision {revision!r} does not exist in {ctx.repo}", exc) from exc
        except OfflineModeIsEnabled as exc:
            raise _offline_refusal(ctx, filename_hint, exc) from exc
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if attempt or status is None or status < 500:  # only a 5xx is worth one more try
                raise ctx.not_available(filename_hint, "the Hub refused the request", exc) from exc
        except Exception as exc:  # noqa: BLE001 - the HTTP client's transport errors, whichever client it is
            if _is_timeout(exc):  # a slow Hub stays slow: do not double the wait
                raise ctx.not_available(filename_hint, "the Hub could not be reached in time", exc) from exc
            if not _is_transport(exc) and not isinstance(exc, OSError):
                raise
            if attempt:
                raise ctx.not_available(filename_hint, "the Hub could not be reached", exc) from exc
    assert info is not None
    commit = info.sha
    if not commit or len(commit) != 40:
        raise ctx.not_available(filename_hint, f"the Hub answered without a commit id for {ctx.repo}@{ctx.revision or 'main'}")
    files: dict[str, dict[str, Any]] = {}
    for sib in info.siblings or []:
        meta: dict[str, Any] = {"size": sib.size}
        if sib.lfs is not None:
            lfs = sib.lfs
            meta.update(sha256=_field(lfs, "sha256"), size=_field(lfs, "size"))
        elif sib.blob_id:
            meta["git_sha1"] = sib.blob_id
        files[sib.rfilename] = meta
    return commit, files


def _field(obj: Any, name: str) -> Any:
    # BlobLfsInfo is a dataclass in recent huggingface_hub and a dict subclass in older ones
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def fetch_file(ctx: HubContext, filename: str, commit: str) -> Path:
    """Download one file of ``repo@commit`` into huggingface_hub's cache; one retry after a 5xx or a cut connection.

    A retry resumes from huggingface_hub's partial file where the server allows it (recent
    huggingface_hub versions also retry on their own; older ones do not).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    for attempt in range(2):
        if attempt:
            time.sleep(0.5)
        try:
            path = hf_hub_download(
                ctx.repo, filename, revision=commit, cache_dir=str(ctx.cache), endpoint=ctx.endpoint,
                etag_timeout=hub_timeout(), library_name="seqjepa", token=False,
            )
            return Path(path)
        except OfflineModeIsEnabled as exc:
            raise _offline_refusal(ctx, filename, exc) from exc
        except EntryNotFoundError as exc:
            # older huggingface_hub reports a failed request as LocalEntryNotFoundError (a subclass), its cause chained
            if not isinstance(exc, LocalEntryNotFoundError):
                raise ctx.not_available(filename, f"{filename!r} is not in {ctx.repo}@{commit}", exc) from exc
            if attempt or not _worth_retrying(exc):
                raise ctx.not_available(filename, "the download failed", exc) from exc
        except Exception as exc:  # noqa: BLE001 - huggingface_hub's and the HTTP client's errors, whichever version
            if "Consistency check failed" in str(exc):
                raise IntegrityError(
                    f"the download of {ctx.repo}@{commit}/{filename} was cut short ({one_line(exc)}); nothing was "
                    "kept; retry the load"
                ) from exc
            if not isinstance(exc, (HfHubHTTPError, OSError)) and not (_is_timeout(exc) or _is_transport(exc)):
                raise
            if attempt or not _worth_retrying(exc):
                raise ctx.not_available(filename, "the download failed", exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _worth_retrying(exc: BaseException) -> bool:
    """A server error or a dropped connection may pass; a timeout or a 4xx will not."""
    if _is_timeout(exc):
        return False
    chain: list[BaseException] = [exc]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt in chain or len(chain) > 8:
            break
        chain.append(nxt)
    for item in chain:
        status = getattr(getattr(item, "response", None), "status_code", None)
        if status is not None:
            return status >= 500
        if _is_transport(item) or "IncompleteRead" in type(item).__name__ or "ChunkedEncoding" in type(item).__name__:
            return True
    return False
