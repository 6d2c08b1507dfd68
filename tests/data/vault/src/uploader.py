"""Uploader: sends files to the storage server with retries."""

import random
import time

ZX_BACKOFF_JITTER_MS = 250
MAX_ATTEMPTS = 5


class UploadError(Exception):
    """An upload failed for good."""


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before attempt number ``attempt`` (exponential, with jitter)."""
    jitter = random.uniform(0, ZX_BACKOFF_JITTER_MS) / 1000
    return min(60.0, 2.0**attempt) + jitter


class Uploader:
    """Sends one file at a time; failed uploads are retried with backoff."""

    def __init__(self, client, attempts: int = MAX_ATTEMPTS):
        self.client = client
        self.attempts = attempts

    def upload(self, path):
        return self.retry_failed_upload(path)

    @staticmethod
    def is_retryable(status: int) -> bool:
        # 4xx means the request is wrong: trying again cannot help
        return status >= 500

    def retry_failed_upload(self, path):
        for attempt in range(self.attempts):
            status = self.client.put(path)
            if status < 400:
                return status
            if not self.is_retryable(status):
                raise UploadError(f"{path}: rejected with {status}")
            time.sleep(backoff_delay(attempt))
        raise UploadError(f"{path}: gave up after {self.attempts} attempts")


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
