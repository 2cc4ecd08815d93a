"""Downloading model weights: the cache, the sha256 check, offline mode.

Weights of a card with a ``url`` (or given by URL) are downloaded on first
use into a cache folder (``DIFFUSERADIO_CACHE_DIR``, by default
``diffuseradio/models`` under astropy's cache directory), named by their
sha256, so that a cached file is reused and a changed one never is; nothing
enters the cache before its sha256 matched. ``DIFFUSERADIO_OFFLINE=1`` (or
``offline=True``) forbids downloads.
"""

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from astropy.config import get_cache_dir
from tqdm.auto import tqdm

from ..atomic import publish, temporary_sibling
from ..exceptions import ChecksumError, ModelError, OfflineError
from .card import ModelCard

__all__ = [
    "ENV_OFFLINE",
    "ENV_CACHE",
    "cache_dir",
    "is_offline",
    "is_url",
    "locate_url",
    "download_weights",
    "require_sha256",
]

logger = logging.getLogger(__name__)


ENV_OFFLINE = "DIFFUSERADIO_OFFLINE"


ENV_CACHE = "DIFFUSERADIO_CACHE_DIR"


_URL_SCHEMES = ("http://", "https://", "file://")


_TIMEOUT = 60.0


def cache_dir():
    """The folder where downloaded weights and model cards are kept.

    ``DIFFUSERADIO_CACHE_DIR`` when set, else ``models`` inside astropy's cache
    directory for the ``diffuseradio`` package. Delete it to free space or to
    force new downloads.

    Returns
    -------
    pathlib.Path
    """
    configured = os.environ.get(ENV_CACHE)
    if configured:
        return Path(configured)
    return Path(get_cache_dir(rootname="diffuseradio")) / "models"


def is_offline(offline):
    """``offline`` when given, else the ``DIFFUSERADIO_OFFLINE`` environment variable."""
    if offline is not None:
        return bool(offline)
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def is_url(spec):
    """Whether a model request is a URL (http, https or file)."""
    return spec.startswith(_URL_SCHEMES)


def locate_url(url, offline, progress):
    """The card and the cached weights path of a model given by the URL of its card or weights."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith(".safetensors"):
        card_url = url[: url.rindex(".safetensors")] + ".json"
    elif path.endswith(".json"):
        card_url = url
    else:
        raise ModelError(f"{url}: a model URL must end in .json (card) or .safetensors")
    key = hashlib.sha256(card_url.encode()).hexdigest()
    card_file = cache_dir() / "cards" / f"{key}.json"

    def check_card(downloaded, digest):
        ModelCard.from_json(downloaded.read_bytes(), source=card_url)

    _fetch(card_url, card_file, check_card, offline, progress)
    card = ModelCard.from_json(card_file.read_bytes(), source=card_url)
    if card_url != url:
        weights_url = url
    else:
        weights_url = card.url or urllib.parse.urljoin(card_url, card.weights_file)
    return card, download_weights(card, weights_url, offline, progress)


def download_weights(card, url, offline, progress):
    """The cached weights of ``card`` from ``url``, downloaded and checked if needed."""
    require_sha256(card)

    def check_weights(downloaded, digest):
        if digest != card.sha256:
            raise ChecksumError(
                f"download of {url} has sha256 {digest}, but its card says {card.sha256}: "
                "the file was tampered with or corrupted; nothing was cached"
            )

    target = cache_dir() / f"{card.sha256}.safetensors"
    return _fetch(url, target, check_weights, offline, progress)


def _fetch(url, target, check, offline, progress):
    """Return the cached copy of ``url`` at ``target``, downloading it if needed.

    ``check(path, sha256)`` validates a download before it enters the cache.
    """
    if target.is_file():
        logger.debug("using cached %s for %s", target, url)
        return target
    if offline:
        raise OfflineError(
            f"{url} is not in the cache ({target.parent}) and offline mode is on "
            f"(offline=True or {ENV_OFFLINE}); download it once while online"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s", url)
    with temporary_sibling(target) as temporary:
        check(temporary, _download(url, temporary, progress))
        publish(temporary, target)
    return target


def _download(url, destination, progress):
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(destination, "wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=Path(urllib.parse.urlsplit(url).path).name,
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except urllib.error.URLError as err:
        raise ConnectionError(f"could not download {url}: {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:
        raise ConnectionError(f"could not download {url}: {err}") from err
    return digest.hexdigest()


def require_sha256(card):
    """Refuse a card without the sha256 of its weights."""
    if card.sha256 is None:
        raise ModelError(
            f"model card {card.identifier!r} has no sha256 of its weights; unverified weights "
            "are refused (save_model writes it)"
        )
