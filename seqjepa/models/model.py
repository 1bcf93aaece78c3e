"""The seq-JEPA model: encoder, action embedding, [AGG] aggregator, predictor and EMA target encoder.

Token layout (matches the official ``SeqJEPA_Transforms`` forward): for M observed views with
encoder outputs z_1..z_M and relative actions a_1..a_{M-1} (a_j leads from view j to view j+1),
the aggregator sees ``[AGG], (z_1, e(a_1)), ..., (z_{M-1}, e(a_{M-1})), (z_M, 0)`` with no
positional embedding; z_AGG is its output at [AGG]. The predictor maps (z_AGG, e(a_M)) to the
target encoder's embedding of the unseen view reached by a_M.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ._naming import backbone_label, format_parameters
from .backbones import create_encoder
from .config import SeqJEPAConfig
from .checks import (MAX_ACTION_MAGNITUDE, MAX_IMAGE_MAGNITUDE, check_actions, check_finite, check_images,
                     check_same_device)

__all__ = ["SeqJEPA", "ema_update_", "SeqJEPAOutput", "SeqJEPATrainOutput", "ActionEmbedding", "Aggregator", "Predictor"]


@dataclass
class SeqJEPAOutput:
    """Both embeddings of a sequence from one encoder pass.

    Attributes:
        equivariant: (B, M, D) encoder output z of every view (keeps pose).
        invariant: (B, E) z_AGG, the aggregate of the sequence (knows the object).
    """

    equivariant: torch.Tensor
    invariant: torch.Tensor


@dataclass
class SeqJEPATrainOutput:
    """What one training forward returns.

    Attributes:
        loss: scalar, mean over the batch of 1 - cos(prediction, target_embedding).
        prediction: (B, D) predicted embedding of the unseen view.
        target_embedding: (B, D) detached target-encoder embedding of the unseen view.
        z_agg: (B, E) aggregate of the observed views.
        z: (B, M, D) online encoder outputs of the observed views.
    """

    loss: torch.Tensor
    prediction: torch.Tensor
    target_embedding: torch.Tensor
    z_agg: torch.Tensor
    z: torch.Tensor


def ema_update_(target: list[torch.Tensor], online: list[torch.Tensor], momentum: float) -> None:
    """In place, for every pair: ``t <- momentum * t + (1 - momentum) * o`` (foreach kernels).

    The only EMA arithmetic of seqjepa: :meth:`SeqJEPA.update_target` and the trainer's
    :class:`seqjepa.train.ema.TargetEMA` both call it, so the two cannot drift apart.
    """
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"momentum: expected a value in [0, 1], got {momentum}")
    if len(target) != len(online):
        raise ValueError(f"online: expected {len(target)} tensors, one per target tensor, got {len(online)}")
    if target:
        with torch.no_grad():  # a context, not a decorator: mutation testing (mutmut) skips decorated functions
            torch._foreach_mul_(target, momentum)
            torch._foreach_add_(target, online, alpha=1.0 - momentum)


class ActionEmbedding(nn.Module):
    """Linear(A -> P, no bias) followed by BatchNorm1d(P, no affine), as the official ``action_proj``."""

    def __init__(self, action_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(action_dim, embed_dim, bias=False)
        self.norm = nn.BatchNorm1d(embed_dim, affine=False)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., A) -> (..., P); BatchNorm statistics are taken over all leading dimensions together."""
        lead = actions.shape[:-1]
        flat = actions.reshape(-1, actions.shape[-1])
        return self.norm(self.proj(flat)).reshape(*lead, -1)


class Aggregator(nn.Module):
    """[AGG] token + post-norm transformer encoder (batch first, ReLU, no positional embedding) + LayerNorm."""

    def __init__(self, config: SeqJEPAConfig) -> None:
        super().__init__()
        width = config.token_dim
        self.agg_token = nn.Parameter(torch.zeros(1, 1, width))
        layer = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=config.num_heads,
            dim_feedforward=config.ffn_dim,
            dropout=config.dropout,
            activation="relu",
            batch_first=True,
            norm_first=False,
        )
        # nn.TransformerEncoder deep-copies one layer, so every layer starts from the same weights;
        # we keep that initialization for training parity with the official code.
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(config.num_layers)])
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, M, E) observation tokens -> (B, E) z_AGG."""
        x = torch.cat([self.agg_token.expand(tokens.shape[0], -1, -1).to(tokens.dtype), tokens], dim=1)
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and _cpu_autocast_breaks_fast_path():
            # torch 2.5's fused inference path of TransformerEncoderLayer ignores CPU autocast and fails on
            # bf16 tokens with fp32 weights; its regular path handles autocast, so take that one. The switch
            # is process-wide, hence restored at once (only ever flipped on such a torch under CPU autocast).
            mha = torch.backends.mha
            previous = mha.get_fastpath_enabled()
            mha.set_fastpath_enabled(False)
            try:
                return self._layers(x)
            finally:
                mha.set_fastpath_enabled(previous)
        return self._layers(x)

    def _layers(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm(x[:, 0])


_FAST_PATH_PROBE: dict[str, bool] = {}


def _cpu_autocast_breaks_fast_path() -> bool:
    """Whether this torch's TransformerEncoderLayer fails under CPU bf16 autocast (probed once, on a tiny layer)."""
    if "broken" not in _FAST_PATH_PROBE:
        layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=8, batch_first=True).eval()
        try:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                layer(torch.zeros(1, 2, 8, dtype=torch.bfloat16))
            _FAST_PATH_PROBE["broken"] = False
        except RuntimeError:
            _FAST_PATH_PROBE["broken"] = True
    return _FAST_PATH_PROBE["broken"]


class Predictor(nn.Module):
    """Linear(no bias) -> BatchNorm1d -> ReLU -> Linear; with hidden=0 the official Linear(no bias) -> BatchNorm1d."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        if hidden > 0:
            self.fc1 = nn.Linear(in_dim, hidden, bias=False)
            self.bn = nn.BatchNorm1d(hidden)
            self.fc2: Optional[nn.Linear] = nn.Linear(hidden, out_dim)
        else:
            self.fc1 = nn.Linear(in_dim, out_dim, bias=False)
            self.bn = nn.BatchNorm1d(out_dim)
            self.fc2 = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.fc1(x))
        if self.fc2 is None:
            return x
        return self.fc2(F.relu(x))


class SeqJEPA(nn.Module):
    """seq-JEPA (Ghaemi, Muller, Bakhtiari, NeurIPS 2025).

    Args:
        config: the architecture; see :class:`~seqjepa.models.config.SeqJEPAConfig`.
        with_target_encoder: build the EMA target encoder. ``None`` follows
            ``config.use_target_encoder``; inference exports pass ``False`` to leave it out.

    Shapes: B batch, M views, C/H/W image, A action dim, D encoder dim, E token dim.
    """

    def __init__(self, config: SeqJEPAConfig, *, with_target_encoder: Optional[bool] = None) -> None:
        super().__init__()
        if not isinstance(config, SeqJEPAConfig):
            raise ValueError(f"config: expected a SeqJEPAConfig, got {type(config).__name__}")
        config.validate()
        self.config = config
        self.encoder = create_encoder(config)
        if with_target_encoder is None:
            with_target_encoder = config.use_target_encoder
        self.target_encoder: Optional[nn.Module] = None
        if with_target_encoder:
            self.target_encoder = copy.deepcopy(self.encoder)
            self.target_encoder.requires_grad_(False)
        self.action_embedding: Optional[ActionEmbedding] = None
        if config.action_conditioned and config.learn_action_embedding:
            self.action_embedding = ActionEmbedding(config.action_dim, config.action_embed_dim)
        self.aggregator = Aggregator(config)
        self.predictor = Predictor(config.predictor_in_dim, config.predictor_hidden, config.encoder_dim)
        self._transform: Any = None

    # ------------------------------------------------------------------ properties
    @property
    def transform(self) -> Any:
        """PIL image -> normalized (C, H, W) tensor, matching the checkpoint's preprocessing."""
        if self._transform is None:
            from .transforms import eval_transform

            self._transform = eval_transform(self.config)
        return self._transform

    @property
    def has_target_encoder(self) -> bool:
        return self.target_encoder is not None

    def _param_dtype(self) -> torch.dtype:
        return next(self.encoder.parameters()).dtype

    def _check_dtype(self, name: str, t: torch.Tensor) -> None:
        if (t.is_inference() and torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
                and any(p.requires_grad for p in self.parameters())):
            raise ValueError(
                f"{name}: a tensor created under torch.inference_mode() cannot enter a computation autograd "
                "records (gradients are enabled and the model has trainable parameters): make it outside "
                "inference mode, pass a .clone() made outside it, or call the model under torch.no_grad()")
        if torch.is_autocast_enabled(t.device.type):
            return
        want = self._param_dtype()
        if t.dtype != want:
            raise ValueError(
                f"{name}: expected dtype {str(want).replace('torch.', '')} (the model's dtype; "
                f"use torch.autocast for mixed precision), got {str(t.dtype).replace('torch.', '')}"
            )

    def _check_views(self, name: str, views: object, ndims: tuple[int, ...], values: bool = True) -> torch.Tensor:
        t = check_images(name, views, ndims=ndims, channels=self.config.in_channels,
                         image_size=self.config.image_size, check_finite=False)
        check_same_device(self, **{name: t})
        self._check_dtype(name, t)
        if values:
            check_finite(name, t, MAX_IMAGE_MAGNITUDE, "normalized image values")
        return t

    def _check_actions(
        self, name: str, actions: object, batch: int, steps: int, values: bool = True
    ) -> Optional[torch.Tensor]:
        if not self.config.action_conditioned:
            if actions is not None:
                raise ValueError(
                    f"{name}: this model was trained without action conditioning and takes actions=None, "
                    f"got a {type(actions).__name__}"
                )
            return None
        if actions is None:
            raise ValueError(
                f"{name}: expected relative actions of shape (B, {steps}, {self.config.action_dim}) "
                f"({self.config.action_space!r} action space), got None"
            )
        t = check_actions(
            name, actions, batch=batch, steps=steps, action_dim=self.config.action_dim, check_finite=False
        )
        check_same_device(self, **{name: t})
        self._check_dtype(name, t)
        if values:
            check_finite(name, t, MAX_ACTION_MAGNITUDE, "action values")
        return t

    def _check_features(self, name: str, t: object, shape: tuple, what: str) -> None:
        """A feature tensor: the right rank and trailing size, non-empty, floating, on the model's device and dtype, finite."""
        want = "(" + ", ".join("B" if i == 0 else ("M" if s is None else str(s)) for i, s in enumerate(shape)) + ")"
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name}: expected a tensor of shape {want} ({what}), got {type(t).__name__}")
        if t.dim() != len(shape) or any(s is not None and t.shape[i] != s for i, s in enumerate(shape)):
            raise ValueError(f"{name}: expected shape {want} ({what}), got {tuple(t.shape)}")
        if any(n == 0 for n in t.shape):
            raise ValueError(f"{name}: expected a non-empty tensor of shape {want}, got {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{name}: expected a floating-point tensor ({what}), got {str(t.dtype).replace('torch.', '')}")
        check_same_device(self, **{name: t})
        self._check_dtype(name, t)
        check_finite(name, t)

    # ------------------------------------------------------------------ building blocks
    def encode(self, images: torch.Tensor, *, target: bool = False) -> torch.Tensor:
        """Encoder forward without checks: (N, C, H, W) -> (N, D). ``target=True`` uses the target encoder."""
        encoder = self.encoder
        if target and self.target_encoder is not None:
            encoder = self.target_encoder
        try:
            return encoder(images)
        except ValueError as exc:
            if "Expected more than 1 value per channel when training" not in str(exc):
                raise
            # torch's text speaks of channels and sizes, not of what to do
            raise ValueError(
                f"images: {images.shape[0]} image(s) in training mode: a BatchNorm layer of the encoder then sees a "
                "single value per channel and cannot compute batch statistics; call model.eval() for inference, or "
                "train with larger batches") from None

    def _encode_sequence(self, views: torch.Tensor) -> torch.Tensor:
        b, m = views.shape[:2]
        return self.encode(views.reshape(b * m, *views.shape[2:])).reshape(b, m, -1)

    def _embed_action(self, actions: torch.Tensor) -> torch.Tensor:
        if self.action_embedding is not None:
            return self.action_embedding(actions)
        return F.pad(actions, (0, self.config.action_pad))

    def observation_tokens(self, z: torch.Tensor, slot_actions: Optional[torch.Tensor]) -> torch.Tensor:
        """Build the M observation tokens from z (B, M, D) and ``slot_actions`` (B, M, A).

        ``slot_actions[:, j]`` for j < M-1 leads from view j to view j+1. The last row is embedded
        together with the others (so train-mode BatchNorm sees it, as in the official code) and
        its slot is then zeroed.
        """
        if slot_actions is None:
            return z
        emb = self._embed_action(slot_actions)
        emb = torch.cat([emb[:, :-1], torch.zeros_like(emb[:, -1:])], dim=1)
        return torch.cat([z, emb.to(z.dtype)], dim=-1)

    def aggregate(self, z: torch.Tensor, actions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """z_AGG from encoder outputs z (B, M, D) and actions (B, M-1, A): (B, E).

        Inputs are checked; this is the entry point for features computed elsewhere.
        """
        self._check_features("z", z, (None, None, self.config.encoder_dim), "(B, M, D) encoder outputs")
        b, m = z.shape[:2]
        acts = self._check_actions("actions", actions, b, m - 1)
        return self._aggregate(z, acts)

    def _aggregate(self, z: torch.Tensor, actions: Optional[torch.Tensor]) -> torch.Tensor:
        slot = None
        if actions is not None:
            slot = torch.cat([actions, actions.new_zeros(actions.shape[0], 1, actions.shape[2])], dim=1)
        return self.aggregator(self.observation_tokens(z, slot))

    def predict(self, z_agg: torch.Tensor, next_action: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predictor forward: z_AGG (B, E) and the action to the unseen view (B, A) -> (B, D)."""
        self._check_features("z_agg", z_agg, (None, self.config.token_dim), "(B, E) aggregates")
        if next_action is not None:
            if not self.config.action_conditioned:
                raise ValueError(
                    "next_action: this model was trained without action conditioning and takes next_action=None, "
                    f"got a {type(next_action).__name__}"
                )
            want = (z_agg.shape[0], self.config.action_dim)
            if not isinstance(next_action, torch.Tensor) or tuple(next_action.shape) != want:
                got = f"{tuple(next_action.shape)}" if isinstance(next_action, torch.Tensor) else type(next_action).__name__
                raise ValueError(f"next_action: expected shape (B, A) = {want} (one action per row of z_agg), got {got}")
            next_action = self._check_actions("next_action", next_action.unsqueeze(1), z_agg.shape[0], 1)[:, 0]
        if next_action is None:
            if self.config.action_conditioned:
                raise ValueError(
                    f"next_action: expected shape (B, {self.config.action_dim}) for an action-conditioned model, got None"
                )
            return self.predictor(z_agg)
        return self.predictor(torch.cat([z_agg, self._embed_action(next_action)], dim=-1))

    # ------------------------------------------------------------------ public embeddings
    def equivariant_embedding(self, images: torch.Tensor) -> torch.Tensor:
        """Encoder output z, which keeps pose: (B, C, H, W) -> (B, D); (B, M, C, H, W) -> (B, M, D)."""
        images = self._check_views("images", images, (4, 5))
        if images.dim() == 4:
            return self.encode(images)
        return self._encode_sequence(images)

    def invariant_embedding(self, views: torch.Tensor, actions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """z_AGG of a sequence, which knows the object: views (B, M, C, H, W), actions (B, M-1, A) -> (B, E).

        ``actions[:, j]`` is the relative action leading from view j to view j+1. Equals the
        official forward's ``agg_out`` for M observations. Models trained without action
        conditioning take ``actions=None``.
        """
        return self.encode_views(views, actions).invariant

    def encode_views(self, views: torch.Tensor, actions: Optional[torch.Tensor] = None) -> SeqJEPAOutput:
        """Equivariant z (B, M, D) and invariant z_AGG (B, E) of a sequence from one encoder pass."""
        views = self._check_views("views", views, (5,))
        b, m = views.shape[:2]
        acts = self._check_actions("actions", actions, b, m - 1)
        z = self._encode_sequence(views)
        return SeqJEPAOutput(equivariant=z, invariant=self._aggregate(z, acts))

    def predict_next(self, views: torch.Tensor, actions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicted embedding of the unseen view: views (B, M, C, H, W), actions (B, M, A) -> (B, D).

        ``actions[:, :M-1]`` connect the observed views; ``actions[:, M-1]`` leads from the last
        observed view to the unseen one.
        """
        views = self._check_views("views", views, (5,))
        b, m = views.shape[:2]
        acts = self._check_actions("actions", actions, b, m)
        z = self._encode_sequence(views)
        if acts is None:
            return self.predict(self._aggregate(z, None))
        return self.predict(self._aggregate(z, acts[:, :-1]), acts[:, -1])

    # ------------------------------------------------------------------ training
    def forward(
        self,
        views: torch.Tensor,
        actions: Optional[torch.Tensor],
        target: torch.Tensor,
        *,
        check_values: bool = True,
    ) -> SeqJEPATrainOutput:
        """Training forward: views (B, M, C, H, W), actions (B, M, A), target view (B, C, H, W).

        ``actions[:, M-1]`` leads from the last observed view to ``target``. Returns the loss
        1 - cos(prediction, sg(target encoder(target))) averaged over the batch, and the pieces
        a trainer needs (online probes read ``z_agg`` and ``z`` detached). Shapes, dtypes and
        devices are always checked; ``check_values=False`` skips the NaN/Inf scan of the inputs,
        which synchronizes a GPU every step (a trainer that checks the loss can skip it).
        """
        views = self._check_views("views", views, (5,), check_values)
        b, m = views.shape[:2]
        # the target's shape is named against the views' before the generic image checks run
        if isinstance(target, torch.Tensor) and target.dim() == 4 and (
            target.shape[0] != b or target.shape[1:] != views.shape[2:]
        ):
            raise ValueError(
                f"target: expected shape {(b, *views.shape[2:])} (one view per sequence, like views), got {tuple(target.shape)}"
            )
        target = self._check_views("target", target, (4,), check_values)
        acts = self._check_actions("actions", actions, b, m, check_values)
        z = self._encode_sequence(views)
        with torch.no_grad():
            target_embedding = self.encode(target, target=True).detach()
        if acts is None:
            z_agg = self.aggregator(z)
            prediction = self.predictor(z_agg)
        else:
            slot = acts
            if self.config.last_slot_in_batchnorm == "zeros":
                slot = torch.cat([acts[:, :-1], torch.zeros_like(acts[:, -1:])], dim=1)
            z_agg = self.aggregator(self.observation_tokens(z, slot))
            # the action to the unseen view is embedded in a call of its own, as officially
            prediction = self.predictor(torch.cat([z_agg, self._embed_action(acts[:, -1])], dim=-1))
        # The cosine is reduced in fp32 even under bf16 autocast (which leaves it in its inputs' dtype): in
        # bf16 its per-sample rounding is of the size of the action's whole effect on it. A no-op in fp32.
        loss = 1.0 - F.cosine_similarity(prediction.float(), target_embedding.float(), dim=1).mean()
        return SeqJEPATrainOutput(loss=loss, prediction=prediction, target_embedding=target_embedding, z_agg=z_agg, z=z)

    def update_target(self, momentum: float) -> None:
        """EMA of the encoder's parameters into the target encoder: t <- m t + (1 - m) theta.

        BatchNorm running statistics are buffers and stay the target encoder's own. The arithmetic
        is :func:`ema_update_`, the one the trainer's :class:`seqjepa.train.ema.TargetEMA` uses too.
        """
        if self.target_encoder is None:
            return
        ema_update_(list(self.target_encoder.parameters()), list(self.encoder.parameters()), momentum)

    def inference_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Named tensors of the state dict that inference needs (everything but the target encoder)."""
        for key, value in self.state_dict().items():
            if not key.startswith("target_encoder."):
                yield key, value

    # ------------------------------------------------------------------ weights I/O
    # These rest on the zoo's lower layer (serialization, resolution, upload), which never imports
    # this module: the class is passed in, so no import cycle forms.
    def save_pretrained(
        self,
        save_directory: Union[str, "os.PathLike[str]"],
        *,
        include_target_encoder: bool = True,
        dtype: Optional[torch.dtype] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        card: Optional[str] = None,
    ) -> str:
        """Write ``config.json`` + ``model.safetensors`` + ``README.md`` (the Hugging Face layout), every file atomically.

        Args:
            save_directory: created if missing; files already there are replaced.
            include_target_encoder: False writes an inference export without the EMA target encoder.
            dtype: cast floating-point tensors (e.g. ``torch.float16``) for a smaller export.
            metadata: extra JSON-able facts for ``config.json`` (provenance, metrics...).
            card: README text; by default a model card is generated.

        Returns:
            The directory path.
        """
        from ..zoo._serialization import write_model_directory

        write_model_directory(self, save_directory, include_target_encoder=include_target_encoder, dtype=dtype,
                              metadata=metadata, card=card)
        return str(Path(save_directory))

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> Any:
        """Upload this model to a Hub repo in one commit: the files :meth:`seqjepa.models.model.SeqJEPA.save_pretrained` writes.

        Keyword arguments: ``revision`` (branch), ``private``, ``token``, ``commit_message``,
        ``include_target_encoder`` (default True), ``metadata`` (extra model-card fields). Returns the
        commit information huggingface_hub gives back.
        """
        from ..zoo._upload import push_to_hub

        return push_to_hub(self, repo_id, **kwargs)

    @classmethod
    def from_pretrained(cls, path_or_repo: str, **kwargs: Any) -> "SeqJEPA":
        """Load a model saved by :meth:`save_pretrained` (a directory, or anything :func:`seqjepa.load` takes) as ``cls``."""
        from ..zoo._loading import load_model

        return load_model(path_or_repo, model_class=cls, **kwargs)

    def summary(self) -> str:
        """One line: backbone, parameters, input size and action space.

        ``print(model)`` starts with it. The parameters counted are those inference uses; an EMA target
        encoder is counted apart.
        """
        c = self.config
        inference = sum(p.numel() for n, p in self.named_parameters() if not n.startswith("target_encoder."))
        text = f"SeqJEPA: {backbone_label(c.backbone, c.backbone_kwargs)} backbone, {format_parameters(inference)} parameters"
        if self.target_encoder is not None:
            text += f" (+ {format_parameters(sum(p.numel() for p in self.target_encoder.parameters()))} in the target encoder)"
        text += f", input {c.in_channels}x{c.image_size}x{c.image_size}, "
        if c.action_conditioned:
            text += f"actions: {c.action_space} ({c.action_dim}-d)"
        else:
            text += f"no action conditioning ({c.action_space} space, {c.action_dim}-d)"
        return text

    def __repr__(self) -> str:
        return self.summary() + "\n" + super().__repr__()

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"backbone={backbone_label(c.backbone, c.backbone_kwargs)} (timm {c.backbone}), D={c.encoder_dim}, "
            f"E={c.token_dim}, A={c.action_dim}, layers={c.num_layers}, heads={c.num_heads}, "
            f"target_encoder={self.has_target_encoder}"
        )
