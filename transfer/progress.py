"""How far a running import is, told across processes while its one transaction is still open
(nothing it writes is visible to the page polling it until it commits): through Redis when the
project runs with it, else through a small file under MEDIA_ROOT (the embedded setup runs the
web and the worker on one machine)."""

from pathlib import Path

from django.conf import settings

KEY = "lockstep:import-progress:{}"
TTL_SECONDS = 24 * 60 * 60


def _redis():
    url = getattr(settings, "REDIS_URL", "") or ""
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url)


def _path(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "import-progress" / str(int(job_id))


def set_progress(job_id: int, rows: int) -> None:
    client = _redis()
    if client is not None:
        client.set(KEY.format(job_id), int(rows), ex=TTL_SECONDS)
        return
    path = _path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(int(rows)))


def get_progress(job_id: int) -> int | None:
    client = _redis()
    if client is not None:
        value = client.get(KEY.format(job_id))
        return int(value) if value is not None else None
    try:
        return int(_path(job_id).read_text())
    except (OSError, ValueError):
        return None


def clear_progress(job_id: int) -> None:
    client = _redis()
    if client is not None:
        client.delete(KEY.format(job_id))
        return
    _path(job_id).unlink(missing_ok=True)
