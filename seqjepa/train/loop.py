"""The training loop: one process per device (torchrun for many), resumable from any step.

Order of one step, as officially: forward (online encoder on the observed views, target encoder
on the unseen view, aggregator, predictor; online probes on detached features) -> backward of the
SSL loss plus the probe losses -> optimizer step -> EMA update of the target encoder. The
learning rate is set per epoch (see :mod:`seqjepa.train.schedule`), the EMA momentum per step
with the official "update, then set" order (see :mod:`seqjepa.train.ema`).

A run, as :class:`Trainer` phases it: prepare (build or restore the state, record the recipe, fix the
sampler), then per epoch start it (learning rate, data order, the sums a mid-epoch checkpoint held),
train its batches (progress lines, step checkpoints, a stop on a signal or ``train.max_steps``) and
end it (metrics reduced over ranks, then checkpoints, then the metrics line).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import shlex
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..errors import IntegrityError, NonFiniteLossError, SeqJEPAError
from ..models.inference import resolve_precision
from ..utils.files import atomic_write_text
from ..models.model import SeqJEPA
from ..version import __version__
from .checkpoint import (
    CHECKPOINT_FORMAT,
    LAST_NAME,
    RunLock,
    capture_rng,
    find_resumable,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from .distributed import ShardedSampler, all_gather_objects, any_rank, init_distributed
from .ema import TargetEMA
from ..probes.online import OnlineProbes, ProbeMetrics
from .datasets import check_data_arguments
from .recipe import model_config, recipe_differences, validate_recipe
from .schedule import learning_rate

_logger = logging.getLogger("seqjepa.train")

__all__ = ["Trainer", "TrainResult", "NonFiniteLossError", "TrainStep", "train_step", "build_optimizer", "resolve_precision"]


@dataclass
class TrainResult:
    """How a run ended.

    ``status`` is ``"completed"`` (the recipe's last epoch is done, whatever else happened on its last
    step), ``"interrupted"`` (SIGTERM or Ctrl-C; ``reason`` says which) or ``"stopped"``
    (``train.max_steps`` steps done before the last epoch ended). The last two saved ``checkpoint``
    and resume with ``--resume auto``.
    """

    status: str
    epoch: int
    step_in_epoch: int
    global_step: int
    checkpoint: Optional[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


class TrainStep(nn.Module):
    """Model + online probes in one module, so DistributedDataParallel wraps everything trained together."""

    def __init__(self, model: SeqJEPA, probes: Optional[OnlineProbes]) -> None:
        super().__init__()
        self.model = model
        self.probes = probes

    def forward(self, views: torch.Tensor, actions: torch.Tensor, target: torch.Tensor):
        cond = self.model.config.action_conditioned
        # the loss is checked for NaN/Inf each step, so the per-step input scan (a GPU sync) is skipped
        out = self.model(views, actions if cond else None, target, check_values=False)
        if self.probes is None:
            return out.loss, None, None
        second = out.z[:, 1] if out.z.shape[1] > 1 else out.target_embedding  # M=1: the target is view 1
        logits, pred = self.probes(out.z_agg, torch.cat([out.z[:, 0], second.to(out.z.dtype)], dim=1))
        return out.loss, logits, pred


def build_optimizer(params: list[tuple[str, nn.Parameter]], optim: Mapping[str, Any], device: torch.device) -> torch.optim.Optimizer:
    """Adam (as run for the transformed-view settings) or AdamW; weight decay only on ndim > 1.

    The ``"paper"`` schedule always uses AdamW with ``paper_weight_decay``. Fused kernels are used
    where this torch has them for the device, else the multi-tensor (foreach) path.
    """
    if optim["schedule"] == "paper":
        kind, wd = "adamw", float(optim["paper_weight_decay"])
    else:
        kind, wd = optim["optimizer"], float(optim["weight_decay"])
    decay = [p for _, p in params if p.ndim > 1]
    rest = [p for _, p in params if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    kwargs = dict(lr=float(optim["initial_lr"]), betas=tuple(optim["betas"]))
    try:
        return cls(groups, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(groups, foreach=True, **kwargs)


def train_step(
    runner: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: "torch.amp.GradScaler",
    ema: TargetEMA,
    online_params: list[torch.Tensor],
    target_params: list[torch.Tensor],
    views: torch.Tensor,
    target: torch.Tensor,
    actions: torch.Tensor,
    labels: torch.Tensor,
    epoch: int,
    autocast_dtype: Optional[torch.dtype],
) -> tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """One optimization step: forward (+ probes) -> backward -> optimizer -> EMA. Returns the detached SSL loss, logits, predictions."""
    ctx = torch.autocast(views.device.type, dtype=autocast_dtype) if autocast_dtype is not None else contextlib.nullcontext()
    with ctx:
        ssl_loss, logits, pred = runner(views, actions, target)
        total = ssl_loss
        if logits is not None:
            total = total + OnlineProbes.losses(logits, labels, pred, actions[:, 0])
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(total).backward()
    scaler.step(optimizer)
    scaler.update()
    ema.step(online_params, target_params, epoch)
    return ssl_loss.detach(), (logits.detach() if logits is not None else None), (pred.detach() if pred is not None else None)


def _check_compiler(device: torch.device) -> None:
    """``train.compile`` on CPU: TorchInductor builds C++ and fails at the first step, with pages of InductorError,
    when no compiler is installed; say so before any work."""
    if device.type != "cpu":
        return
    import shutil

    candidates = [c for c in (os.environ.get("CXX"), "g++", "c++", "clang++") if c]
    if not any(shutil.which(c) for c in candidates):
        from ..errors import ConfigError

        raise ConfigError(
            "train.compile: torch.compile on CPU needs a C++ compiler, and none of "
            f"{', '.join(candidates)} is on PATH; set train.compile=false (--set train.compile=false) or install one")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _worker_init(worker_id: int) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the workers leave it to the main process,
    # which stops after the current step and saves
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    random.seed(seed)


def _to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    nb = device.type == "cuda"
    return tuple(batch[k].to(device, non_blocking=nb) for k in ("views", "target", "actions", "label"))


_CHECKPOINT_TEMP_RE = re.compile(r"^\.(last|epoch_\d+)\.pt\..+\.tmp$")


def _remove_temporaries(directory: Path) -> None:
    """Delete the temporary files of checkpoint saves that never finished (their targets are intact)."""
    for p in directory.iterdir():
        if _CHECKPOINT_TEMP_RE.match(p.name):
            try:
                p.unlink()
            except OSError:
                pass


def _fmt_time(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class _RunState:
    """What the loop carries from epoch to epoch in this process."""

    sampler: ShardedSampler
    steps_per_epoch: int
    bad: torch.Tensor  # a non-finite loss was seen (read lazily off the CPU: reading it is a device sync)
    steps_this_process: int = 0  # what train.max_steps counts
    ckpt_path: Optional[str] = None  # the last checkpoint written


@dataclass
class _EpochSums:
    """The epoch in progress: its learning rate, its sums (loss, probe metrics), the progress window, a stop."""

    lr: float
    loss_sum: torch.Tensor  # float64, this rank's steps
    loss_count: int
    metrics: Optional[ProbeMetrics]
    window_loss: torch.Tensor  # the loss since the last progress line
    start: float  # time.perf_counter() at the epoch's start
    window_start: float
    window_steps: int = 0
    stop_reason: str = ""


class Trainer:
    """Trains one recipe into ``output_dir`` (checkpoints, metrics.jsonl, recipe.json).

    Args:
        recipe: a validated recipe (see :func:`seqjepa.train.recipe.load_recipe`).
        output_dir: run directory; one run at a time (an OS lock on ``.lock``, see
            :class:`~seqjepa.train.checkpoint.RunLock`).
        data_root: dataset root passed to the dataset factory.
        resume: ``None`` (fresh run; refuses a directory that already has checkpoints),
            ``"auto"`` (newest valid checkpoint there, else fresh) or a checkpoint path. The recipe
            must be the checkpoint's, but for :data:`~seqjepa.train.recipe.RESUME_FREE_KEYS`.
        device: ``"cpu"``/``"cuda"``; default CUDA when available.
        train_dataset, val_dataset: ready datasets instead of the recipe's (tests, notebooks).
        log: an extra receiver of the progress lines (rank 0 only); they always go to the
            ``seqjepa.train`` logger.
        allow_recipe_change: resume although the recipe differs from the checkpoint's outside the
            ``model`` section; the change is appended to ``recipe-changes.jsonl``.
    """

    def __init__(
        self,
        recipe: dict[str, Any],
        output_dir: str | os.PathLike[str],
        *,
        data_root: Optional[str] = None,
        resume: Optional[str] = None,
        device: Optional[str] = None,
        train_dataset: Any = None,
        val_dataset: Any = None,
        log: Optional[Callable[[str], None]] = None,
        allow_recipe_change: bool = False,
    ) -> None:
        validate_recipe(recipe)
        self.recipe = recipe
        self.output_dir = Path(output_dir)
        self.data_root = data_root
        self.resume = resume
        self.device_request = device
        self.train_dataset = train_dataset
        self.val_dataset = val_dataset
        self._log = log
        self.allow_recipe_change = bool(allow_recipe_change)
        self._stop_signal = threading.Event()
        self._stop_reason = ""
        self._resumed_accumulators: Optional[dict[str, Any]] = None
        self._accumulators: Optional[tuple[torch.Tensor, int, Optional[ProbeMetrics]]] = None
        self._tb: Any = None

    # ------------------------------------------------------------------ helpers
    def log(self, message: str) -> None:
        if self.env.is_main:
            _logger.info(message)
            if self._log is not None:
                self._log(message)

    def _handle_signal(self, signum: int, frame: Any) -> None:
        """SIGTERM or a first Ctrl-C: stop after the current step and save. Ctrl-C once more: quit now."""
        if signum == signal.SIGINT and self._stop_signal.is_set():
            raise KeyboardInterrupt  # the save in progress is abandoned; atomic writes keep the previous file
        if not self._stop_signal.is_set():
            self._stop_reason = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
            self._stop_signal.set()
            if signum == signal.SIGINT and self.env.is_main:
                _logger.warning("Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again quits without saving)")

    def resume_command(self) -> str:
        """The command that continues this run (logged when it stops early)."""
        cmd = ["seqjepa", "train", "--recipe", str(self.output_dir / "recipe.json"), "--output", str(self.output_dir)]
        if self.data_root is not None:
            cmd += ["--data-root", str(self.data_root)]
        if self.device_request is not None:
            cmd += ["--device", str(self.device_request)]
        return " ".join(shlex.quote(c) for c in cmd + ["--resume", "auto"])

    def _datasets(self) -> tuple[Any, Any]:
        from .datasets import build_dataset, check_dataset

        train, val = self.train_dataset, self.val_dataset
        split = self.recipe["data"]["val_split"]
        if train is None:
            train = build_dataset(self.recipe, self.data_root, "train")
        else:
            check_dataset(train, self.recipe, "train")
        if val is None and split:
            val = build_dataset(self.recipe, self.data_root, split)
        elif val is not None:
            check_dataset(val, self.recipe, "val")
        return train, val

    # ------------------------------------------------------------------ main
    def run(self) -> TrainResult:
        """Train until the recipe's last epoch, SIGTERM, Ctrl-C or ``train.max_steps``; see :class:`TrainResult`."""
        if self.train_dataset is None:
            check_data_arguments(self.recipe, self.data_root)  # before anything is created or locked
        self.env = init_distributed(self.device_request)
        if self.recipe["train"]["compile"]:
            _check_compiler(self.env.device)
        lock = RunLock(self.output_dir) if self.env.is_main else None
        if lock is not None:
            lock.acquire()
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._handle_signal)
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._tb is not None:
                self._tb.close()
            if lock is not None:
                lock.release()

    def _setup(self) -> None:
        r, t, env = self.recipe, self.recipe["train"], self.env
        cfg = model_config(r)
        if t["deterministic"]:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        elif env.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = t["tf32"]
        torch.backends.cudnn.allow_tf32 = t["tf32"]
        # the same seed everywhere for the initial weights (DDP also broadcasts rank 0's), then a per-rank stream
        _seed_everything(t["seed"])
        self.train_ds, self.val_ds = self._datasets()
        model = SeqJEPA(cfg)
        probes = None
        if t["probes"]:
            probes = OnlineProbes(cfg.token_dim, cfg.encoder_dim, cfg.action_dim, int(self.train_ds.num_classes), t["probe_hidden"])
        step = TrainStep(model, probes).to(env.device)
        if t["channels_last"]:
            step = step.to(memory_format=torch.channels_last)
        if t["sync_batchnorm"] and env.distributed:
            step = nn.SyncBatchNorm.convert_sync_batchnorm(step)
        self.step_module = step
        self.model = step.model
        self.probes = step.probes
        trainable = [(n, p) for n, p in step.named_parameters() if p.requires_grad]
        self.optimizer = build_optimizer(trainable, r["optim"], env.device)
        self.autocast_dtype = resolve_precision(t["precision"], env.device, auto_on_cpu=True)
        self.scaler = torch.amp.GradScaler(env.device.type, enabled=self.autocast_dtype == torch.float16)
        self.ema = TargetEMA(t["ema_base"], t["epochs"])
        self.online_params = list(model.encoder.parameters())
        self.target_params = list(model.target_encoder.parameters()) if model.target_encoder is not None else []
        runner: nn.Module = step
        if env.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # the target encoder gets no gradients: keep its parameters out of DDP's buckets
            ignore = [f"model.{n}" for n, _ in model.named_parameters() if n.startswith("target_encoder.")]
            DDP._set_params_and_buffers_to_ignore_for_model(step, ignore)
            ids = [env.device.index] if env.device.type == "cuda" else None
            runner = DDP(step, device_ids=ids)
        if t["compile"]:
            runner = torch.compile(runner)
        self.runner = runner
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.last_metrics: dict[str, Any] = {}

    def _resume(self) -> None:
        t, env = self.recipe["train"], self.env
        state, path = None, None
        if self.resume == "auto":
            found, state, skipped = find_resumable(self.output_dir)
            for reason in skipped:
                self.log(f"resume: skipping unusable checkpoint: {reason}")
            if found is None and skipped:
                # starting afresh would overwrite them, and a rerun of the same command would do it again
                raise IntegrityError(
                    f"--resume auto: none of the {len(skipped)} checkpoint(s) in {self.output_dir} can be used "
                    f"(first: {skipped[0][:300]}); nothing was changed. Resume from a checkpoint file you trust "
                    "(--resume PATH), or move the damaged ones away to start a fresh run")
            path = found
        elif self.resume:
            path = Path(self.resume)
            state = load_checkpoint(path)
        else:
            existing = [p.name for p in self.output_dir.glob("*.pt")] if self.output_dir.is_dir() else []
            if existing:
                raise ValueError(
                    f"--output {self.output_dir} already holds checkpoints ({', '.join(sorted(existing))}); "
                    "pass --resume auto to continue that run, or choose an empty directory"
                )
        if state is None:
            _seed_everything(t["seed"] + env.rank)
            self.log("starting a fresh run" + (" (no usable checkpoint found)" if self.resume == "auto" else ""))
            return
        saved_world = int(state.get("world_size", 1))
        if state["step_in_epoch"] and saved_world != env.world_size:
            raise ValueError(
                f"--resume {path}: the checkpoint was saved mid-epoch by {saved_world} processes; resuming it with "
                f"{env.world_size} would change which samples are skipped. Resume with {saved_world} processes, "
                "or from an end-of-epoch checkpoint"
            )
        self._compare_recipes(state, path)
        self.model.load_state_dict(state["model"])
        if self.probes is not None:
            if state.get("probes") is None:
                raise ValueError(f"--resume {path}: the checkpoint has no online probes but train.probes is true")
            self.probes.load_state_dict(state["probes"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.ema.load_state_dict(state["ema"])
        self.epoch, self.step_in_epoch, self.global_step = int(state["epoch"]), int(state["step_in_epoch"]), int(state["global_step"])
        self.last_metrics = dict(state.get("metrics") or {})
        accumulators = state.get("accumulators")
        if self.step_in_epoch and accumulators and saved_world == env.world_size and env.rank < len(accumulators):
            self._resumed_accumulators = accumulators[env.rank]
        elif self.step_in_epoch:
            self.log(f"resume: {path} holds no loss sums for its epoch (an older seqjepa wrote it): epoch "
                     f"{self.epoch + 1}'s metrics will cover only the steps after the resume")
        rngs = state["rng"]
        if env.rank < len(rngs) and saved_world == env.world_size:
            restore_rng(rngs[env.rank])
        else:
            _seed_everything(t["seed"] + env.rank + 7919 * self.global_step)
        self.log(f"resumed from {path}: epoch {self.epoch + 1}, {self.step_in_epoch} batches into it, step {self.global_step}")

    def _compare_recipes(self, state: Mapping[str, Any], path: Any) -> None:
        """The whole recipe must be the checkpoint's (except :data:`RESUME_FREE_KEYS`), unless allowed and recorded."""
        diffs = recipe_differences(state["recipe"], self.recipe)
        if not diffs:
            return
        shown = ", ".join(f"{k} ({old!r} -> {new!r})" for k, old, new in diffs[:8]) + (f" and {len(diffs) - 8} more" if len(diffs) > 8 else "")
        model = [k for k, _, _ in diffs if k.startswith("model.")]
        if model:
            raise ValueError(
                f"--resume {path}: the checkpoint's model differs from the recipe's at {', '.join(model)}; "
                "its weights belong to the checkpoint's model, so this cannot be resumed with another"
            )
        if not self.allow_recipe_change:
            raise ValueError(
                f"--resume {path}: the recipe differs from the checkpoint's at {shown}; resume with the run's own "
                f"recipe ({self.output_dir / 'recipe.json'}), or pass --allow-recipe-change to continue with the "
                "new values (the change is recorded in recipe-changes.jsonl)"
            )
        self.log(f"resume: continuing with a changed recipe (--allow-recipe-change): {shown}")
        if self.env.is_main:
            record = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "checkpoint": str(path), "epoch": int(state["epoch"]),
                "step_in_epoch": int(state["step_in_epoch"]), "global_step": int(state["global_step"]),
                "changes": {k: {"checkpoint": old, "now": new} for k, old, new in diffs},
            }
            with open(self.output_dir / "recipe-changes.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")

    def _gathered_accumulators(self) -> Optional[list[object]]:
        """Each rank's sums for the epoch in progress (loss, probe metrics), so a resumed epoch logs what an unbroken one would."""
        if not self.step_in_epoch or self._accumulators is None:
            return None
        loss_sum, loss_count, metrics = self._accumulators
        mine = {"loss_sum": float(loss_sum.item()), "loss_count": int(loss_count),
                "probe_sums": metrics.sums.detach().cpu().clone() if metrics is not None else None}
        return all_gather_objects(mine)

    def _state(self) -> dict[str, Any]:
        rngs = all_gather_objects(capture_rng())
        return {
            "format": CHECKPOINT_FORMAT,
            "seqjepa_version": __version__,
            "recipe": self.recipe,
            "world_size": self.env.world_size,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "probes": self.probes.state_dict() if self.probes is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "ema": self.ema.state_dict(),
            "rng": rngs,
            "metrics": self.last_metrics,
            "accumulators": self._gathered_accumulators(),
        }

    def _save(self, names: list[str]) -> Optional[str]:
        """Write the state to each of ``names`` (rank 0); every rank learns whether it worked."""
        state = self._state()
        error: Optional[BaseException] = None
        if self.env.is_main:
            try:
                for name in names:
                    save_checkpoint(self.output_dir / name, state)
            except OSError as exc:
                error = exc
            except KeyboardInterrupt:  # a second Ctrl-C: the save is abandoned, the previous files stay
                _remove_temporaries(self.output_dir)
                self._say_how_to_resume_after_abandoning()
                raise
        if any_rank(error is not None, self.env.device):
            if error is not None:
                raise error
            raise SeqJEPAError("rank 0 could not write a checkpoint; stopping")
        return str(self.output_dir / names[0])

    def _say_how_to_resume_after_abandoning(self) -> None:
        """After a second Ctrl-C: the checkpoint that is left, and the command that continues from it."""
        found, _, _ = find_resumable(self.output_dir)
        if found is None:
            self.log("Ctrl-C again: the save was abandoned and no checkpoint had been written yet")
        else:
            self.log(f"Ctrl-C again: the save was abandoned; {found} is unchanged")
            self.log(f"resume with: {self.resume_command()}")

    def _check_finite(self, bad: torch.Tensor, where: str) -> None:
        if any_rank(bool(bad.item()), self.env.device):
            found, _, _ = find_resumable(self.output_dir)
            keep = f"the last good checkpoint is {found}" if found else "no checkpoint had been written yet"
            raise NonFiniteLossError(
                f"the training loss became NaN or infinite ({where}); the run stopped without saving the "
                f"diverged state; {keep}. Lower optim.lr, use train.precision=fp32 or check the data"
            )

    def _append_metrics(self, record: dict[str, Any]) -> None:
        if not self.env.is_main:
            return
        line = json.dumps(record, sort_keys=True) + "\n"
        with open(self.output_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line)  # one write per record: a crash loses at most this line
            fh.flush()
        if self._tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "global_step"):
                    self._tb.add_scalar(key, value, record.get("global_step", 0))

    def _open_tensorboard(self) -> None:
        if not (self.recipe["train"]["tensorboard"] and self.env.is_main):
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.log("train.tensorboard is true but the tensorboard package is not installed (pip install "
                     "'seqjepa[train]'): logging to metrics.jsonl only")
            return
        self._tb = SummaryWriter(log_dir=str(self.output_dir / "tensorboard"))

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.env.device.type, dtype=self.autocast_dtype)

    def _loader(self, dataset: Any, sampler: ShardedSampler, batch_size: int, drop_last: bool, epoch: int) -> DataLoader:
        t = self.recipe["train"]
        g = torch.Generator().manual_seed(t["seed"] * 7_919 + epoch * 104_729 + self.env.rank)
        return DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, num_workers=t["num_workers"], drop_last=drop_last,
            pin_memory=self.env.device.type == "cuda", generator=g, worker_init_fn=_worker_init,
        )

    # ------------------------------------------------------------------ the loop
    def _run(self) -> TrainResult:
        """The epochs, each trained then closed; a stop (signal, ``train.max_steps``) ends the run early."""
        run = self._prepare_run()
        epochs = self.recipe["train"]["epochs"]
        while self.epoch < epochs:
            epoch = self.epoch
            sums = self._train_epoch(run, epoch)
            if sums.stop_reason and self.step_in_epoch < run.steps_per_epoch:
                self._check_finite(run.bad, f"by step {self.global_step}")
                run.ckpt_path = self._save([LAST_NAME])
                return self._stopped(sums.stop_reason, run.ckpt_path, epoch + 1, self.step_in_epoch)
            self._check_finite(run.bad, f"epoch {epoch + 1}")
            run.ckpt_path = self._end_epoch(epoch, sums)
            if sums.stop_reason and self.epoch < epochs:  # the stop came on the epoch's last step: resume from its checkpoint
                return self._stopped(sums.stop_reason, run.ckpt_path, epoch + 1, run.steps_per_epoch)
        # the last epoch is done: completed, even if a stop (max_steps, a signal) came on its very last step
        return TrainResult("completed", self.epoch, 0, self.global_step, run.ckpt_path, self.last_metrics)

    def _prepare_run(self) -> _RunState:
        """Build (or restore) the state, record the recipe, open the logs and fix the sampler and the epoch's length."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.env.is_main:
            _remove_temporaries(self.output_dir)  # of a save a killed run left half-done (we hold the lock)
        self._setup()
        self._resume()
        r, t, env = self.recipe, self.recipe["train"], self.env
        if env.is_main:
            atomic_write_text(self.output_dir / "recipe.json", json.dumps(r, indent=2, sort_keys=True) + "\n")
        self._open_tensorboard()
        batch = t["batch_size"]
        sampler = ShardedSampler(len(self.train_ds), rank=env.rank, world_size=env.world_size, shuffle=True, seed=t["seed"])
        steps_per_epoch = (len(self.train_ds) + env.world_size - 1) // env.world_size // batch
        if steps_per_epoch < 1:
            raise ValueError(
                f"train.batch_size: {batch} per process x {env.world_size} processes is more than the "
                f"{len(self.train_ds)} training sequences; no full batch per epoch"
            )
        self.log(
            f"training {r['name']} on {env.world_size} x {env.device.type} ({self.autocast_dtype or torch.float32}), "
            f"{len(self.train_ds)} sequences, {steps_per_epoch} steps/epoch, epochs {self.epoch + 1}..{t['epochs']}"
        )
        return _RunState(sampler, steps_per_epoch, torch.zeros((), dtype=torch.bool, device=env.device))

    def _start_epoch(self, run: _RunState, epoch: int) -> tuple[DataLoader, _EpochSums]:
        """Set the epoch's learning rate and data order; its sums start from the checkpoint's when resumed mid-epoch."""
        r, env, batch = self.recipe, self.env, self.recipe["train"]["batch_size"]
        o = r["optim"]
        lr = learning_rate(
            epoch, epochs=r["train"]["epochs"], lr=o["lr"], initial_lr=o["initial_lr"],
            warmup_epochs=o["warmup_epochs"], min_lr=o["min_lr"], schedule=o["schedule"],
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if hasattr(self.train_ds, "set_epoch"):
            self.train_ds.set_epoch(epoch)
        run.sampler.set_epoch(epoch, skip=self.step_in_epoch * batch)
        loader = self._loader(self.train_ds, run.sampler, batch, True, epoch)
        self.step_module.train()
        metrics = ProbeMetrics(self.model.config.action_dim, env.device) if self.probes is not None else None
        now = time.perf_counter()
        sums = _EpochSums(lr, torch.zeros((), dtype=torch.float64, device=env.device), 0, metrics,
                          torch.zeros((), dtype=torch.float64, device=env.device), start=now, window_start=now)
        resumed, self._resumed_accumulators = self._resumed_accumulators, None
        if resumed is not None:  # the sums of the steps this epoch did before the interruption
            sums.loss_sum.fill_(float(resumed["loss_sum"]))
            sums.loss_count = int(resumed["loss_count"])
            if metrics is not None and resumed.get("probe_sums") is not None:
                metrics.sums.copy_(resumed["probe_sums"].to(env.device))
        return loader, sums

    def _train_epoch(self, run: _RunState, epoch: int) -> _EpochSums:
        """The epoch's steps from where it stands, until its end or a stop (then ``stop_reason`` says which)."""
        t, env = self.recipe["train"], self.env
        loader, sums = self._start_epoch(run, epoch)
        for data in loader:
            if self.step_in_epoch >= run.steps_per_epoch:
                break
            self._train_batch(run, epoch, data, sums)
            if t["log_every"] and self.global_step % t["log_every"] == 0:
                self._check_finite(run.bad, f"by step {self.global_step}")
                self._log_progress(run, epoch, sums)
            stop = any_rank(self._stop_signal.is_set(), env.device)
            limit = bool(t["max_steps"]) and run.steps_this_process >= t["max_steps"]
            if stop or limit:
                sums.stop_reason = (self._stop_reason or "a signal on another rank") if stop else f"train.max_steps={t['max_steps']}"
                break
            if t["checkpoint_every_steps"] and self.global_step % t["checkpoint_every_steps"] == 0 and self.step_in_epoch < run.steps_per_epoch:
                self._check_finite(run.bad, f"by step {self.global_step}")
                run.ckpt_path = self._save([LAST_NAME])
        return sums

    def _train_batch(self, run: _RunState, epoch: int, data: Mapping[str, torch.Tensor], sums: _EpochSums) -> None:
        """One optimization step on ``data``, added to the epoch's sums and counted."""
        views, target, actions, labels = _to_device(data, self.env.device)
        ssl_loss, logits, pred = train_step(
            self.runner, self.optimizer, self.scaler, self.ema, self.online_params, self.target_params,
            views, target, actions, labels, epoch, self.autocast_dtype,
        )
        detached = ssl_loss.detach()
        run.bad |= ~torch.isfinite(detached)
        if self.env.device.type == "cpu" and bool(run.bad):  # checked at once where it costs no device sync
            self._check_finite(run.bad, f"epoch {epoch + 1}, step {self.step_in_epoch + 1}")
        sums.loss_sum += detached.double()
        sums.window_loss += detached.double()
        sums.loss_count += 1
        sums.window_steps += 1
        if sums.metrics is not None:
            sums.metrics.update(logits, labels, pred, actions[:, 0])
        self._accumulators = (sums.loss_sum, sums.loss_count, sums.metrics)
        self.step_in_epoch += 1
        self.global_step += 1
        run.steps_this_process += 1

    def _log_progress(self, run: _RunState, epoch: int, sums: _EpochSums) -> None:
        """The progress line: the loss since the last one, the learning rate, the throughput and the time left."""
        t, env = self.recipe["train"], self.env
        elapsed = time.perf_counter() - sums.window_start
        seqs = sums.window_steps * t["batch_size"] * env.world_size
        left = (t["epochs"] - epoch) * run.steps_per_epoch - self.step_in_epoch
        eta = elapsed / max(1, sums.window_steps) * left
        views_per_seq = self.recipe["data"]["num_views"] + 1
        self.log(
            f"epoch {epoch + 1}/{t['epochs']} step {self.step_in_epoch}/{run.steps_per_epoch} "
            f"loss {sums.window_loss.item() / sums.window_steps:.4f} lr {sums.lr:.2e} "
            f"{seqs * views_per_seq / max(elapsed, 1e-9):.1f} img/s ETA {_fmt_time(eta)}"
        )
        sums.window_loss.zero_()
        sums.window_steps, sums.window_start = 0, time.perf_counter()

    def _end_epoch(self, epoch: int, sums: _EpochSums) -> str:
        """Close a finished epoch: its metrics (reduced over ranks), then its checkpoints; returns the path saved."""
        record = self._epoch_record(epoch, sums)
        t = self.recipe["train"]
        self.last_metrics = record
        self.epoch, self.step_in_epoch = epoch + 1, 0
        names = [LAST_NAME]
        if (t["checkpoint_every"] and self.epoch % t["checkpoint_every"] == 0) or self.epoch == t["epochs"]:
            names.append(f"epoch_{self.epoch}.pt")
        ckpt_path = self._save(names)
        self._append_metrics(record)
        summary = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items())
        self.log(f"epoch {epoch + 1}/{t['epochs']} done: {summary}")
        return ckpt_path

    def _epoch_record(self, epoch: int, sums: _EpochSums) -> dict[str, Any]:
        """The epoch's line of metrics.jsonl: the loss over all ranks' steps, the probes' training and validation scores."""
        env = self.env
        record: dict[str, Any] = {
            "epoch": epoch + 1, "global_step": self.global_step, "lr": sums.lr, "ema_momentum": self.ema.momentum,
            "epoch_time_s": time.perf_counter() - sums.start,
        }
        total_loss = sums.loss_sum.clone()
        counts = torch.tensor([float(sums.loss_count)], dtype=torch.float64, device=env.device)
        if env.distributed:
            import torch.distributed as dist

            dist.all_reduce(total_loss)
            dist.all_reduce(counts)
        record["loss"] = total_loss.item() / max(1.0, counts.item())
        if sums.metrics is not None:
            sums.metrics.all_reduce()
            m = sums.metrics.compute()
            record["train_probe_acc"], record["train_probe_r2"] = m["acc"], m["r2"]
        if self.val_ds is not None and self.probes is not None:
            m = self._validate(epoch)
            record["val_probe_acc"], record["val_probe_r2"] = m["acc"], m["r2"]
        return record

    def _stopped(self, reason: str, ckpt_path: Optional[str], epoch: int, step: int) -> TrainResult:
        status = "stopped" if reason.startswith("train.max_steps") else "interrupted"
        self.log(f"stopped on {reason} at epoch {epoch}, step {step}; saved {ckpt_path}")
        self.log(f"resume with: {self.resume_command()}")
        return TrainResult(status, self.epoch, self.step_in_epoch, self.global_step, ckpt_path, self.last_metrics, reason)

    @torch.no_grad()
    def _validate(self, epoch: int) -> dict[str, float]:
        env, t = self.env, self.recipe["train"]
        if hasattr(self.val_ds, "set_epoch"):
            self.val_ds.set_epoch(0)  # the same validation draws every epoch
        sampler = ShardedSampler(len(self.val_ds), rank=env.rank, world_size=env.world_size, shuffle=False, pad=False)
        loader = self._loader(self.val_ds, sampler, t["batch_size"], False, 0)
        self.step_module.eval()
        metrics = ProbeMetrics(self.model.config.action_dim, env.device)
        for data in loader:
            views, target, actions, labels = _to_device(data, env.device)
            with self._autocast():
                _, logits, pred = self.step_module(views, actions, target)
            metrics.update(logits.float(), labels, pred.float(), actions[:, 0])
        self.step_module.train()
        metrics.all_reduce()
        return metrics.compute()
