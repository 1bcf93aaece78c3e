"""The extraction loop: decode in DataLoader workers, batch, run the model's fast path, write shards.

One process or many (torchrun): shard k holds the source rows [k*S, (k+1)*S) and goes to rank
k mod world_size. Batches never cross a shard boundary and are formed the same way whoever runs
the shard, so every shard, and so the whole output, is the same whatever the number of processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.utils.data

from ..errors import IntegrityError
from ..version import __version__
from . import shards as sh
from .sources import DatasetSource, ManifestSource, Source, _BadView, bad_input_reason, is_bad_input, open_source

__all__ = ["extract", "ExtractResult", "PRECISIONS", "DECODES", "DEFAULT_SHARD_SIZE"]

logger = logging.getLogger("seqjepa.features")

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DECODES = ("exact", "draft")
DEFAULT_SHARD_SIZE = 4096
_MAX_LOGGED_ERRORS = 20

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class ExtractResult:
    """What one call of :func:`extract` did (on this process; totals are the whole run's)."""

    out: Path
    rows: int
    rows_extracted: int
    rows_failed: int
    num_shards: int
    shards_written: int
    shards_skipped: int
    images: int
    seconds: float
    rank: int = 0
    world_size: int = 1

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for people."""
        done = f"{self.shards_written} shard(s) written" + (
            f", {self.shards_skipped} already done" if self.shards_skipped else "")
        failed = (f"; {self.rows_failed} skipped (unreadable), listed in {self.out / sh.ERRORS_NAME}"
                  if self.rows_failed else "")
        rate = f" at {self.images_per_second:.0f} images/s" if self.images else ""
        return f"extracted {self.rows_extracted} of {self.rows} rows into {self.out} ({done}{rate}){failed}"


# --------------------------------------------------------------------------- argument checks
def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")
    return value


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return value


@dataclass(frozen=True)
class _Options:
    """The options of :func:`extract`, checked."""

    out: Path
    invariant: bool
    strict: bool
    channels_last: bool
    progress: Optional[bool]
    shard_size: int
    batch_size: Optional[int]
    num_workers: Optional[int]
    precision: str
    decode: str


def _check_arguments(out: Any, *, invariant: Any, strict: Any, channels_last: Any, progress: Any, shard_size: Any,
                     batch_size: Any, num_workers: Any, precision: Any, decode: Any) -> _Options:
    """ValueError naming the first argument of :func:`extract` that is not what it should be."""
    invariant = _check_flag("invariant", invariant)
    strict = _check_flag("strict", strict)
    channels_last = _check_flag("channels_last", channels_last)
    if progress is not None:
        _check_flag("progress", progress)
    shard_size = _check_int("shard_size", shard_size, 1)
    batch_size = _check_int("batch_size", batch_size, 1, allow_none=True)
    num_workers = _check_int("num_workers", num_workers, 0, allow_none=True)
    precision = _check_choice("precision", precision, PRECISIONS)
    decode = _check_choice("decode", decode, DECODES)
    if not isinstance(out, (str, os.PathLike)):
        raise ValueError(f"out: expected a directory path, got {type(out).__name__}")
    return _Options(out=Path(os.path.expanduser(os.fspath(out))), invariant=invariant, strict=strict,
                    channels_last=channels_last, progress=progress, shard_size=shard_size, batch_size=batch_size,
                    num_workers=num_workers, precision=precision, decode=decode)


# --------------------------------------------------------------------------- model identity
def _tensor_sha256(t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous()
    return hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy() if t.numel() else b"").hexdigest()


def _state_sha256(model: torch.nn.Module) -> str:
    """sha256 over the config and, for every tensor inference uses, its name, dtype, shape and the sha256
    of its bytes (tensors hashed on parallel threads: hashlib releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    # the EMA target encoder is not used by inference: a model with or without it gives the same features
    items = sorted((k, v) for k, v in model.state_dict().items() if not k.startswith("target_encoder."))
    with ThreadPoolExecutor(max(1, min(8, _cores()))) as pool:
        digests = list(pool.map(_tensor_sha256, [v for _, v in items]))
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for (key, value), digest in zip(items, digests):
        h.update(f"\n{key}|{value.dtype}|{tuple(value.shape)}|{digest}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- worker side
class _Batches(torch.utils.data.Dataset):
    """Item b is batch b, decoded: the rows that could be read, stacked, and a record for those that could not.

    A DataLoader worker decodes the rows of a batch one after the other; :func:`_threaded_batches`
    decodes them in the main process on a thread pool.
    """

    def __init__(self, source: Source, batches: list[tuple[int, list[int]]]) -> None:
        self.source, self.batches = source, batches

    def __len__(self) -> int:
        return len(self.batches)

    def _load(self, row: int) -> tuple[int, Any, Optional[dict[str, Any]]]:
        try:
            return row, self.source.load(row), None
        except Exception as exc:  # noqa: BLE001 - only bad-input errors are recorded, the rest re-raised
            if not is_bad_input(exc):
                raise
            record = {"row": row, self.source.key_name: self.source.key(row)}
            if isinstance(exc, _BadView):  # one view of a manifest sequence: name it as the manifest does
                record["path"] = self.source.views[row][exc.view]
                exc = exc.cause
            record["reason"] = bad_input_reason(exc)
            return row, None, record

    def __getitem__(self, b: int) -> dict[str, Any]:
        shard, rows = self.batches[b]
        return self.assemble(shard, rows, map(self._load, rows))

    def assemble(self, shard: int, rows: list[int], loaded) -> dict[str, Any]:
        """The batch dict from ``(row, item, error record)`` of each row, in order."""
        ok, items, errors = [], [], []
        for row, item, record in loaded:
            if record is None:
                ok.append(row)
                items.append(item)
            else:
                errors.append(record)
        out: dict[str, Any] = {"shard": shard, "rows": torch.tensor(ok, dtype=torch.int64), "errors": errors,
                               "images": sum(self.source.num_views(r) for r in rows)}
        if not items:
            return out
        if isinstance(self.source, DatasetSource):
            out["views"] = torch.from_numpy(np.stack([it["views"] for it in items]))
            out["actions"] = torch.from_numpy(np.stack([it["actions"] for it in items]))
            out["latents"] = torch.from_numpy(np.stack([it["latents"] for it in items]))
        elif isinstance(self.source, ManifestSource):
            out["pixels"] = torch.from_numpy(np.stack([it["pixels"] for it in items]))
            if items[0]["actions"] is not None:
                out["actions"] = torch.from_numpy(np.stack([it["actions"] for it in items]))
        else:
            out["pixels"] = torch.from_numpy(np.stack(items))
        return out


def _identity_collate(item: Any) -> Any:
    return item


#: Niceness of the decoding threads (Linux, where it is per thread): they decode the next batch while the
#: model runs, but a core the model's threads need goes to them only in the gaps, so decoding never slows
#: the model down; when it falls behind, the main thread waits and it gets the cores to itself.
_DECODE_NICE = 10


def _lower_priority() -> None:
    try:
        import threading

        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _DECODE_NICE)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or not permitted
        pass


def _threaded_batches(batches: _Batches, threads: int):
    """The batches of ``batches`` in order, decoded in this process on ``threads`` low-priority threads
    (PIL releases the GIL while it decodes and resizes), one batch ahead of the caller."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads, thread_name_prefix="seqjepa-decode", initializer=_lower_priority) as pool:
        def submit(b: int):
            shard, rows = batches.batches[b]
            return shard, rows, [pool.submit(batches._load, r) for r in rows]

        ahead = submit(0) if len(batches) else None
        for b in range(len(batches)):
            current, ahead = ahead, (submit(b + 1) if b + 1 < len(batches) else None)
            shard, rows, futures = current
            yield batches.assemble(shard, rows, (f.result() for f in futures))


def _plan_batches(source: Source, shard_ids: list[int], shard_size: int, batch_size: int) -> list[tuple[int, list[int]]]:
    """Batches of each shard in turn: at most ``batch_size`` images each (a sequence counts its views,
    at least one sequence per batch), sequences grouped by length; never across a shard boundary."""
    n = len(source)
    batches: list[tuple[int, list[int]]] = []
    for k in shard_ids:
        rows = range(k * shard_size, min((k + 1) * shard_size, n))
        groups: dict[int, list[int]] = {}
        for r in rows:
            groups.setdefault(source.num_views(r), []).append(r)
        for m in sorted(groups):
            per_batch = max(1, batch_size // m)
            group = groups[m]
            for i in range(0, len(group), per_batch):
                batches.append((k, group[i:i + per_batch]))
    return batches


# --------------------------------------------------------------------------- main side
class _Model:
    """The model's forward for one decoded batch, on the device, under the chosen precision."""

    def __init__(self, model, device: torch.device, dtype: Optional[torch.dtype], channels_last: bool,
                 invariant: bool, config) -> None:
        self.model, self.device, self.dtype = model, device, dtype
        self.channels_last, self.invariant = channels_last, invariant
        self.mean = torch.tensor(config.mean, dtype=torch.float32, device=device).view(-1, 1, 1)
        self.std = torch.tensor(config.std, dtype=torch.float32, device=device).view(-1, 1, 1)
        self.conditioned = bool(config.action_conditioned)
        self.action_dim = config.action_dim

    def _normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        # torchvision's ToTensor + Normalize, operation for operation (so the values are bit-identical to
        # model.transform's); the permuted uint8 batch is already channels-last in memory
        x = pixels.to(self.device, non_blocking=True)
        x = x.movedim(-1, -3).to(torch.float32).div(255).sub_(self.mean).div_(self.std)
        return x if self.channels_last else x.contiguous()

    def __call__(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        from ..models.inference import fast_inference, to_channels_last

        actions = batch.get("actions")
        if actions is not None:
            actions = actions.to(self.device, non_blocking=True) if self.conditioned else None
        with fast_inference(self.model, dtype=self.dtype):
            if "views" in batch:  # a dataset's normalized float views
                views = batch["views"].to(self.device, non_blocking=True)
                views = to_channels_last(views) if self.channels_last else views
                out = self.model.encode_views(views, actions)
                return {"z": out.equivariant.float().cpu(), "z_agg": out.invariant.float().cpu()}
            x = self._normalize(batch["pixels"])
            if x.dim() == 5:  # manifest sequences (B, M, C, H, W)
                out = self.model.encode_views(x, actions)
                return {"z": out.equivariant.float().cpu(), "z_agg": out.invariant.float().cpu()}
            if not self.invariant:
                return {"z": self.model.equivariant_embedding(x).float().cpu()}
            acts = x.new_zeros(x.shape[0], 0, self.action_dim) if self.conditioned else None
            out = self.model.encode_views(x[:, None], acts)
            return {"z": out.equivariant[:, 0].float().cpu(), "z_agg": out.invariant.float().cpu()}


class _ShardBuffer:
    """The outputs of one shard's batches until the last one arrives."""

    def __init__(self, k: int, start: int, stop: int, batches: int) -> None:
        self.k, self.start, self.stop, self.remaining = k, start, stop, batches
        self.rows: list[torch.Tensor] = []
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self.errors: list[dict[str, Any]] = []

    def add(self, rows: torch.Tensor, outputs: dict[str, torch.Tensor]) -> None:
        self.rows.append(rows)
        for key, value in outputs.items():
            self.outputs.setdefault(key, []).append(value)

    def arrays(self, source: Source, empty: dict[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], list[str]]:
        """The shard's columns in row order; ``empty`` gives each float column's trailing shape for a shard
        whose every row failed (so that every shard has the same columns)."""
        rows = torch.cat(self.rows).numpy() if self.rows else np.zeros(0, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        arrays: dict[str, np.ndarray] = {"row": rows.astype(np.int64)}
        for key, shape in empty.items():
            parts = self.outputs.get(key, [])
            if not parts:
                arrays[key] = np.zeros((0, *shape), dtype=np.float32)
            elif key == "z" and isinstance(source, ManifestSource):
                seqs = [seq for part in parts for seq in part]  # one (M, D) tensor per row, M varies
                seqs = [seqs[i] for i in order]
                arrays[key] = torch.cat(seqs).numpy()
            else:
                arrays[key] = torch.cat(parts).numpy()[order]
        if isinstance(source, ManifestSource):
            arrays["num_views"] = np.asarray([source.num_views(int(r)) for r in rows], dtype=np.int64)
        labels = source.labels
        if labels is not None:
            arrays["label"] = labels[rows].astype(np.int64)
        keys = [source.key(int(r)) for r in rows]
        return arrays, keys


def _resolve_device(device: Any, world: int) -> tuple[torch.device, Optional[Any]]:
    if device is not None and not isinstance(device, (str, torch.device)):
        raise ValueError(f"device: expected 'cpu', 'cuda' or a torch.device, got {type(device).__name__}")
    if world > 1:
        try:
            parsed = None if device is None else torch.device(device)
        except RuntimeError:
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}") from None
        kind = None if parsed is None else parsed.type
        if parsed is not None and parsed.index is not None:
            raise ValueError(f"device: under torchrun each rank uses cuda:LOCAL_RANK; pass 'cuda' or 'cpu', got {device!r}")
        from ..train.distributed import init_distributed

        env = init_distributed(kind)
        return env.device, env
    try:
        dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    except RuntimeError:
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):  # e.g. "meta": no data, so nothing to compute features with
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {str(device)[:40]!r} "
                         "(a device that cannot run the model)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} was asked for but torch.cuda.is_available() is False")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device: {device!r} was asked for, this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev, None


def _resolve_precision(precision: str, device: torch.device) -> tuple[str, Optional[torch.dtype]]:
    from ..models.inference import supports_dtype

    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and supports_dtype(device, torch.bfloat16) else "fp32"
    if precision == "fp32":
        return precision, None
    if not supports_dtype(device, dtypes[precision]):
        raise ValueError(
            f"precision: {precision} is not supported natively on {device} (it would be emulated, slower than fp32); "
            "use --precision fp32"
        )
    return precision, dtypes[precision]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _default_workers(device: torch.device) -> int:
    """CUDA: worker processes decode while the GPU computes. CPU: none; the main process decodes each batch
    on all its threads, then runs the model on all of them (workers would fight the model for the cores)."""
    if device.type == "cuda":
        return max(1, min(8, _cores() - 1))
    return 0


def extract(
    model: Any,
    source: PathLike,
    out: PathLike,
    *,
    invariant: bool = False,
    batch_size: Optional[int] = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    num_workers: Optional[int] = None,
    device: Optional[Union[str, torch.device]] = None,
    precision: str = "auto",
    decode: str = "exact",
    channels_last: bool = True,
    strict: bool = False,
    progress: Optional[bool] = None,
    dataset: Optional[str] = None,
    split: str = "train",
    num_views: int = 8,
    seed: int = 0,
    revision: Optional[str] = None,
) -> ExtractResult:
    """Run a model over a folder of images, a manifest of sequences or a dataset, into a directory of feature shards.

    Args:
        model: anything :func:`seqjepa.load` takes (registry name, ``hf-hub:...``, directory, ``.pth``),
            or a :class:`~seqjepa.SeqJEPA` (run in eval mode on ``device``, then given back in its own
            mode on its own device; its convolution weights stay stored channels-last, same values,
            unless ``channels_last=False``).
        source: an image folder (recursive; one image per row; top-level class folders give labels),
            a JSON Lines manifest of sequences (see :class:`seqjepa.features.sources.ManifestSource`),
            a 3DIEBench-layout root, or with ``dataset`` the root of a named dataset.
        out: the output directory: new, empty, or one this same extraction started (it is continued;
            finished shards are skipped). One made with another model, preprocessing, precision,
            source, shard size or outputs is refused.
        invariant: image folders: also store z_AGG of each image as a one-view sequence. Sequences
            always get both z and z_AGG.
        batch_size: images per forward pass (a sequence counts its views; at least one sequence);
            default 64 on CPU, 256 on CUDA.
        shard_size: rows per shard (a kill loses at most the shard in flight).
        num_workers: DataLoader processes decoding images. 0 (the default on CPU): the main process
            decodes the next batch on ``torch.get_num_threads()`` low-priority threads while the model
            runs, so decoding takes only the cores the model leaves idle. Default on CUDA: cores - 1,
            at most 8.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``; default CUDA when available. Under torchrun,
            ``cuda:LOCAL_RANK`` or CPU (gloo).
        precision: ``"fp32"``, ``"bf16"``, ``"fp16"`` (CUDA) or ``"auto"`` (bf16 on a CUDA device that
            has it, else fp32). Features are stored as float32 either way.
        decode: ``"exact"``: pixels identical to ``model.transform`` (PIL decode + resize);
            ``"draft"``: JPEGs decoded by libjpeg at a reduced scale first, faster, pixels differ by a
            few levels.
        channels_last: store images and convolution weights channels-last (faster on CPU and GPU).
        strict: fail on the first unreadable image instead of skipping and recording it.
        progress: show a tqdm progress bar; default: when stderr is a terminal.
        dataset: ``"3diebench"``, ``"cifar100"``, ``"tinyimagenet"``, ``"stl10"`` or ``"imagenet"``:
            read ``source`` as that dataset, the way the evaluation protocols do.
        split, num_views, seed: for datasets: the split, M views per sequence (observed + target,
            M-1 actions) and the seed of the view draws.
        revision: Hub revision for a named model.

    Returns:
        :class:`ExtractResult` (row counts are the whole run's once it completes).

    Raises:
        ValueError: a bad argument (named), a malformed manifest line, or an ``out`` made otherwise.
        IntegrityError: with ``strict``, the first unreadable image.
    """
    opts = _check_arguments(out, invariant=invariant, strict=strict, channels_last=channels_last, progress=progress,
                            shard_size=shard_size, batch_size=batch_size, num_workers=num_workers,
                            precision=precision, decode=decode)
    dev, rank, world, started_group = _start_processes(device)
    lock = None
    try:
        net, spec = _open_model(model, revision)
        state_sha = _state_sha256(net)
        precision, amp_dtype = _resolve_precision(opts.precision, dev)
        src = open_source(source, config=net.config, draft=opts.decode == "draft", dataset=dataset, split=split,
                          num_views=num_views, seed=seed)
        want_agg = opts.invariant or isinstance(src, (ManifestSource, DatasetSource))
        n = len(src)
        num_shards = math.ceil(n / opts.shard_size)
        fingerprint, meta = _metadata(net, spec, revision, state_sha, src, opts, precision, want_agg, num_shards)
        # every rank checks the directory (and refuses the same mismatch); rank 0 alone creates it, under a lock
        # that keeps another extraction out of it for as long as this one runs
        if rank == 0:
            sh.prepare_dir(opts.out, meta, write=False)
            lock = _lock_output(opts.out)
        meta = sh.prepare_dir(opts.out, meta, write=rank == 0)
        if started_group:
            torch.distributed.barrier()
        todo, done = _claim_shards(opts.out, fingerprint, num_shards, rank, world, shard_size=opts.shard_size, rows=n)
        images, seconds = _extract_shards(
            net, src, todo, fingerprint, opts=opts, device=dev, amp_dtype=amp_dtype, want_agg=want_agg,
            rank=rank, world=world)
        final = _finalize(opts.out, meta, n, rank=rank, started_group=started_group, strict=opts.strict)
        return ExtractResult(
            out=opts.out, rows=n, rows_extracted=int(final["rows_extracted"]), rows_failed=int(final["rows_failed"]),
            num_shards=num_shards, shards_written=len(todo), shards_skipped=len(done), images=images,
            seconds=seconds, rank=rank, world_size=world,
        )
    finally:
        if lock is not None:
            lock.release()
        if started_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


# --------------------------------------------------------------------------- the phases of extract
def _lock_output(out: Path):
    """The run lock on ``out`` (created if new), as training holds one: a second extraction into the same
    directory is refused instead of deleting the first one's files in flight."""
    from ..train.checkpoint import RunLock

    out.mkdir(parents=True, exist_ok=True)
    lock = RunLock(out, what="extraction", option="--out")
    lock.acquire()
    return lock


def _start_processes(device: Any) -> tuple[torch.device, int, int, bool]:
    """(device, rank, world size, whether a process group was started): under torchrun (``WORLD_SIZE`` > 1)
    this joins the group; alone, it only resolves the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev, dist_env = _resolve_device(device, world)
    rank = dist_env.rank if dist_env is not None else 0
    return dev, rank, world, dist_env is not None


def _open_model(model: Any, revision: Optional[str]) -> tuple[Any, Optional[str]]:
    """The SeqJEPA to run and the name or path it was given by (None for one passed in memory)."""
    from ..models.model import SeqJEPA
    from ..zoo.factory import load

    if isinstance(model, SeqJEPA):
        net, spec = model, None
    elif isinstance(model, (str, os.PathLike)):
        spec = os.fspath(model)
        net = load(spec, revision=revision, device="cpu")
    else:
        raise ValueError(f"model: expected a model name, a path or a seqjepa.SeqJEPA, got {type(model).__name__}")
    param = next(net.parameters())
    if param.is_meta:
        raise ValueError("model: its parameters are on the meta device (shapes without weights); load or "
                         "initialize its weights first")
    if param.dtype != torch.float32:
        raise ValueError(f"model: expected float32 parameters (use precision='bf16' for reduced precision), "
                         f"got {str(param.dtype).replace('torch.', '')}")
    return net, spec


def _metadata(net: Any, spec: Optional[str], revision: Optional[str], state_sha: str, src: Source,
              opts: _Options, precision: str, want_agg: bool, num_shards: int) -> tuple[str, dict[str, Any]]:
    """The extraction's fingerprint (sha256 of what must match for a rerun to continue it) and its meta.json."""
    from ..zoo.factory import describe_weights

    cfg = net.config
    is_images = not isinstance(src, (ManifestSource, DatasetSource))
    preprocessing = {"image_size": cfg.image_size, "interpolation": cfg.interpolation, "mean": list(cfg.mean),
                     "std": list(cfg.std), "decode": "dataset" if isinstance(src, DatasetSource) else opts.decode}
    outputs = {"z": cfg.encoder_dim, "z_agg": cfg.token_dim if want_agg else None,
               "layout": "images" if is_images else ("sequences" if isinstance(src, ManifestSource) else "dataset")}
    identity = {"model": {"state_sha256": state_sha}, "preprocessing": preprocessing, "precision": precision,
                "source": src.identity(), "shard_size": opts.shard_size, "outputs": outputs}
    fingerprint = sh.identity_fingerprint(identity)
    meta = {
        "format": sh.FORMAT, "format_version": sh.FORMAT_VERSION, "fingerprint": fingerprint, "identity": identity,
        "model": {**describe_weights(spec, revision), "state_sha256": state_sha, "config": cfg.to_dict()},
        "preprocessing": preprocessing, "precision": precision, "source": src.describe(), "outputs": outputs,
        "shard_size": opts.shard_size, "num_shards": num_shards, "rows": len(src), "key_name": src.key_name,
        "classes": getattr(src, "classes", None),
        "versions": {"seqjepa": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "status": "incomplete",
    }
    return fingerprint, meta


def _claim_shards(out: Path, fingerprint: str, num_shards: int, rank: int, world: int, *, shard_size: int,
                  rows: int) -> tuple[list[int], set[int]]:
    """(shards this process still has to write, in order; its shards already done, each verified). Shard k is
    rank k mod world's; the temporary files a stopped run left of them are removed."""
    mine = {k for k in range(num_shards) if k % world == rank}
    removed = sh.remove_stale_temporaries(out, mine)
    if removed:
        logger.info("removed %d temporary file(s) a stopped run left: %s", len(removed), ", ".join(removed))
    done = sh.finished_shards(out, fingerprint, mine, shard_size=shard_size, rows=rows)
    if done:
        logger.info("%d of this process's %d shard(s) are already done", len(done), len(mine))
    return sorted(mine - done), done


def _make_loader(source: Source, batches: list[tuple[int, list[int]]], device: torch.device,
                 num_workers: Optional[int]):
    """The decoded batches in order: DataLoader worker processes, or (no workers) low-priority threads of this
    process decoding one batch ahead."""
    workers = min(_default_workers(device) if num_workers is None else num_workers, len(batches))
    if workers == 0:
        return _threaded_batches(_Batches(source, batches), max(1, min(torch.get_num_threads(), _cores())))
    return torch.utils.data.DataLoader(
        _Batches(source, batches), batch_size=None, shuffle=False, num_workers=workers,
        collate_fn=_identity_collate, pin_memory=device.type == "cuda", prefetch_factor=4,
    )


def _empty_columns(source: Source, config: Any, want_agg: bool) -> dict[str, tuple[int, ...]]:
    """The trailing shape of each float column (what a shard whose every row failed still holds)."""
    empty: dict[str, tuple[int, ...]] = {"z": (config.encoder_dim,)}
    if isinstance(source, DatasetSource):
        empty = {"z": (source.m, config.encoder_dim), "latents": (source.m, source.dataset.action_space.latent_dim)}
    if want_agg:
        empty["z_agg"] = (config.token_dim,)
    return empty


def _extract_shards(net: Any, src: Source, todo: list[int], fingerprint: str, *, opts: _Options,
                    device: torch.device, amp_dtype: Optional[torch.dtype], want_agg: bool, rank: int,
                    world: int) -> tuple[int, float]:
    """Run the model over the shards ``todo``, writing each one as its last batch arrives; (images, seconds).
    The model is put in eval mode on ``device`` for the run, and back in its mode and on its device after."""
    cfg = net.config
    n, shard_size = len(src), opts.shard_size
    batch_size = opts.batch_size if opts.batch_size is not None else (256 if device.type == "cuda" else 64)
    was_training = net.training
    home = next(net.parameters()).device  # a caller's model goes back where it was
    net.eval()
    net.to(device)
    if opts.channels_last:
        net.to(memory_format=torch.channels_last)
    runner = _Model(net, device, amp_dtype, opts.channels_last, opts.invariant, cfg)
    empty = _empty_columns(src, cfg, want_agg)
    batches = _plan_batches(src, todo, shard_size, batch_size)
    loader = _make_loader(src, batches, device, opts.num_workers)
    buffers = {}
    for k in todo:
        start, stop = k * shard_size, min((k + 1) * shard_size, n)
        buffers[k] = _ShardBuffer(k, start, stop, sum(1 for b in batches if b[0] == k))
    total_images = sum(src.num_views(r) for k in todo for r in range(k * shard_size, min((k + 1) * shard_size, n)))
    show = opts.progress if opts.progress is not None else bool(getattr(sys.stderr, "isatty", lambda: False)())
    from tqdm.auto import tqdm

    bar = tqdm(total=total_images, unit="img", desc=f"extract{f' rank {rank}' if world > 1 else ''}",
               disable=not show or total_images == 0, dynamic_ncols=True, smoothing=0.1)
    t0 = time.perf_counter()
    try:
        images = _run_batches(loader, buffers, runner, src, opts.out, fingerprint, empty, strict=opts.strict,
                              bar=bar)
    finally:
        bar.close()
        net.train(was_training)
        net.to(home)
        if hasattr(loader, "close"):
            loader.close()  # the decoding threads finish their rows and stop
    seconds = time.perf_counter() - t0
    if buffers:  # pragma: no cover - every planned batch arrives
        raise RuntimeError(f"shards {sorted(buffers)} did not receive all their batches")
    return images, seconds


def _run_batches(loader, buffers: dict[int, _ShardBuffer], runner: _Model, src: Source, out: Path,
                 fingerprint: str, empty: dict[str, tuple[int, ...]], *, strict: bool, bar) -> int:
    """The loop: each decoded batch through the model into its shard's buffer, a shard written (and its buffer
    dropped) when its last batch is in. Returns the number of images read."""
    logged = 0
    images = 0
    for batch in loader:
        buf = buffers[batch["shard"]]
        for record in batch["errors"]:
            if strict:
                raise IntegrityError(
                    f"row {record['row']} ({record.get('path') or record.get(src.key_name)}) cannot be read "
                    f"(--strict): {record['reason']}")
            if logged < _MAX_LOGGED_ERRORS:
                logger.warning("skipped row %d (%s): %s", record["row"],
                               record.get("path") or record.get(src.key_name), record["reason"])
                logged += 1
                if logged == _MAX_LOGGED_ERRORS:
                    logger.warning("further unreadable rows are only recorded in errors.jsonl")
        buf.errors += batch["errors"]
        if len(batch["rows"]):
            outputs = runner(batch)
            if isinstance(src, DatasetSource):
                outputs["latents"] = batch["latents"].float()
            buf.add(batch["rows"], outputs)
        images += batch["images"]
        bar.update(batch["images"])
        buf.remaining -= 1
        if buf.remaining == 0:
            _write(out, buf, src, fingerprint, empty)
            del buffers[buf.k]
    return images


def _finalize(out: Path, meta: dict[str, Any], rows: int, *, rank: int, started_group: bool,
              strict: bool) -> dict[str, Any]:
    """Once every rank is done: rank 0 completes meta.json and errors.jsonl, and every rank gets its record.
    With ``strict``, rows an earlier run could not read are an error."""
    if started_group:
        torch.distributed.barrier()
    final: Optional[dict[str, Any]] = None
    failure: Optional[str] = None
    if rank == 0:
        try:
            final = sh.finalize(out, meta, rows)
        except IntegrityError as exc:  # every rank raises it, none waits for a record that never comes
            failure = str(exc)
    if started_group:
        box = [final, failure]
        torch.distributed.broadcast_object_list(box, src=0)
        final, failure = box
    if failure is not None:
        raise IntegrityError(failure)
    assert final is not None
    if strict and final["rows_failed"]:
        raise IntegrityError(
            f"out: {final['rows_failed']} row(s) of an earlier run could not be read (--strict); see "
            f"{out / sh.ERRORS_NAME}")
    return final


def _write(out: Path, buf: _ShardBuffer, src: Source, fingerprint: str, empty: dict[str, tuple[int, ...]]) -> None:
    arrays, keys = buf.arrays(src, empty)
    errors = sorted(buf.errors, key=lambda e: e["row"])
    if len(keys) + len(errors) != buf.stop - buf.start:  # pragma: no cover - a bug, never bad input
        raise RuntimeError(f"shard {buf.k}: {len(keys)} rows + {len(errors)} errors != {buf.stop - buf.start}")
    info = {"format_version": sh.FORMAT_VERSION, "fingerprint": fingerprint, "shard": buf.k,
            "rows": [buf.start, buf.stop], "num_rows": len(keys), "keys": keys, "errors": errors}
    sh.write_shard(out, buf.k, arrays, info)
    logger.debug("wrote %s (%d rows, %d skipped)", sh.shard_name(buf.k), len(keys), len(errors))
