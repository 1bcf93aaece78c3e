"""A small Hugging Face Hub look-alike on 127.0.0.1 for tests of the real download path.

It answers what huggingface_hub's ``hf_hub_download`` and ``HfApi.model_info`` ask: the model
info API (``/api/models/{repo}[/revision/{rev}]`` with file metadata) and ``HEAD``/``GET`` on
``/{repo}/resolve/{rev}/{file}`` with ``X-Repo-Commit``, ``ETag``, ``Content-Length`` and, for
LFS files, ``X-Linked-Etag``/``X-Linked-Size``. Faults are injected per request: a 500, a body
cut short, a delay, tampered bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".pth", ".bin", ".pt")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """``repos[repo_id] = {"refs": {"main": commit}, "commits": {commit: {filename: bytes}}}``."""

    def __init__(self) -> None:
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.faults: list[dict] = []  # {"method", "match", "action", ...}; each used once
        self.lock = threading.Lock()
        self.server: Optional[ThreadingHTTPServer] = None
        self.thread: Optional[threading.Thread] = None

    # ----------------------------------------------------------------- content
    def add_commit(self, repo_id: str, files: dict[str, bytes], *, branch: str = "main") -> str:
        repo = self.repos.setdefault(repo_id, {"refs": {}, "commits": {}})
        blob = json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items())).encode()
        commit = hashlib.sha1(repo_id.encode() + blob + str(len(repo["commits"])).encode()).hexdigest()
        repo["commits"][commit] = dict(files)
        repo["refs"][branch] = commit
        return commit

    def add_fault(self, method: str, match: str, action: str, **extra) -> None:
        with self.lock:
            self.faults.append({"method": method, "match": match, "action": action, **extra})

    def _take_fault(self, method: str, path: str) -> Optional[dict]:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault["method"] in (method, "*") and fault["match"] in path:
                    return self.faults.pop(i)
        return None

    def _commit(self, repo_id: str, rev: str) -> Optional[str]:
        repo = self.repos[repo_id]
        if rev in repo["commits"]:
            return rev
        return repo["refs"].get(rev)

    # ----------------------------------------------------------------- server
    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, "HEAD")

            def do_GET(self) -> None:
                hub._handle(self, "GET")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # a client that gave up: expected here
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # ----------------------------------------------------------------- handlers
    def _send(self, h: BaseHTTPRequestHandler, status: int, headers: dict, body: bytes = b"", method: str = "GET") -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, str(value))
        if "Content-Length" not in headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD" and body:
            h.wfile.write(body)

    def _error(self, h, method: str, status: int, code: str, extra: Optional[dict] = None) -> None:
        body = json.dumps({"error": code}).encode()
        self._send(h, status, {"X-Error-Code": code, "Content-Type": "application/json", **(extra or {})}, body, method)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = unquote(urlsplit(h.path).path)
        with self.lock:
            self.requests.append((method, path))
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault["action"] == "500":
                return self._error(h, method, 500, "InternalError")
            if fault["action"] == "delay":
                time.sleep(fault["seconds"])
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
        if m:
            return self._model_info(h, method, m.group(1), m.group(2) or "main")
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self._resolve(h, method, m.group(1), m.group(2), m.group(3), fault)
        return self._error(h, method, 404, "NotFound")

    def _model_info(self, h, method, repo_id, rev) -> None:
        if repo_id not in self.repos:
            return self._error(h, method, 404, "RepoNotFound")
        commit = self._commit(repo_id, rev)
        if commit is None:
            return self._error(h, method, 404, "RevisionNotFound")
        siblings = []
        for name, data in sorted(self.repos[repo_id]["commits"][commit].items()):
            entry = {"rfilename": name, "size": len(data), "blobId": git_blob_sha1(data)}
            if name.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
            siblings.append(entry)
        body = json.dumps({"id": repo_id, "modelId": repo_id, "sha": commit, "siblings": siblings,
                           "private": False, "tags": [], "downloads": 0, "likes": 0}).encode()
        self._send(h, 200, {"Content-Type": "application/json"}, body, method)

    def _resolve(self, h, method, repo_id, rev, filename, fault) -> None:
        if repo_id not in self.repos:
            return self._error(h, method, 404, "RepoNotFound")
        commit = self._commit(repo_id, rev)
        if commit is None:
            return self._error(h, method, 404, "RevisionNotFound")
        files = self.repos[repo_id]["commits"][commit]
        if filename not in files:
            return self._error(h, method, 404, "EntryNotFound", {"X-Repo-Commit": commit})
        data = files[filename]
        if name_is_lfs := filename.endswith(LFS_SUFFIXES):
            etag = hashlib.sha256(data).hexdigest()
        else:
            etag = git_blob_sha1(data)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if name_is_lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": len(data)})
        if method == "GET" and fault is not None and fault["action"] == "tamper":
            at = int(fault.get("at", 0))  # which byte to flip (negative: from the end)
            data = bytearray(data)
            data[at] ^= 0xFF
            data = bytes(data)
        start = 0
        rng = h.headers.get("Range")
        if method == "GET" and rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if m:
                start = int(m.group(1))
        body = data[start:]
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if method == "GET" and fault is not None and fault["action"] == "cut":
            headers["Content-Length"] = len(body)
            h.send_response(status)
            for key, value in headers.items():
                h.send_header(key, str(value))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        if method == "GET" and fault is not None and fault["action"] == "short":
            body = body[: len(body) // 2]  # a consistent but short response: a truncated file on the server side
        headers["Content-Length"] = len(body)
        self._send(h, status, headers, body, method)
