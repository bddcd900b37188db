"""Notice when the config file changes on disk (an editor's save, `shiptrack monitor add`)."""

from __future__ import annotations

import hashlib
from pathlib import Path


class ConfigWatcher:
    """Cheap polling: a stat per call, and a read + hash only when size or mtime moved."""

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest
        self._signature = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        """True once per change of the file's bytes since the digest we were given."""
        signature = self._stat()
        if signature is None or signature == self._signature:
            return False
        self._signature = signature
        try:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return False
        if digest == self.digest:
            return False
        self.digest = digest
        return True
