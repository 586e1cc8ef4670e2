"""The training loop: protocol in, trained-model directory out.

Readable on purpose (nanoGPT style): build the data and tokenizer, build the
model, step through seeded batches with a warmup + cosine learning rate,
validate, keep the best weights, stop early, checkpoint, and finally write the
directory that :func:`~model_train_protocol.model_dir.load_trained` reads.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..errors import MTPFileError, MTPValidationError, MTPValueError
from ..model_dir import (CHECKPOINTS, LOSS_CURVE, MANIFEST, STAGING_PREFIX, encode_text, verify_dir, write_manifest,
    write_protocol_files, write_staged)
from ._batching import collate, encode_all, shards, step_batch, steps_per_epoch
from ._checkpoint import has_checkpoint, load_checkpoint, load_trainable, save_checkpoint, trainable_state
from ..jsonio import write_atomic
from ..rules import structural_strings
from ..runtime import Refusal
from ._config import TrainConfig, TrainConfigError
from ._config_file import CONFIG_FILE, dump_config
from ._data import build_training_data
from .._env import require_train_extra
from ._distributed import Dist, broadcast_text, init_distributed
from ._model import add_token_rows, apply_lora, load_base, scratch_model, set_special_ids
from ._plot import save_loss_curve
from ._tokenizer import extend_tokenizer, scratch_tokenizer, wrap_tokenizer

if TYPE_CHECKING:
    import torch

    from ..authoring import Protocol
    from ..infer import SentenceEncoder

__all__ = ["TrainResult", "train", "MIN_CALIBRATION_PROMPTS"]

#: Fewest validation answers a refusal threshold is chosen on (a 5 % quantile of fewer is noise).
MIN_CALIBRATION_PROMPTS = 20

ProtocolSource = Union["Protocol", str, "os.PathLike[str]"]


@dataclass
class TrainResult:
    """What a run produced: the directory, its manifest, the metrics and the validation history."""

    out_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


def train(
    protocol: ProtocolSource, out_dir: str | os.PathLike[str], config: TrainConfig | None = None, *,
    force: bool = False, **overrides: Any
) -> TrainResult:
    """Train a model on a protocol (object or model-file path) and write it to ``out_dir``.

    ``config`` holds every setting (:class:`TrainConfig`); keyword ``overrides``
    replace single fields (``train(p, "out", epochs=5)``). A trained model or
    a ``checkpoints/`` folder that is not an interrupted run's already in
    ``out_dir`` is replaced only with ``force=True``. Under ``torchrun``
    every rank calls this; rank 0 alone writes files (and ``manifest`` is
    empty in the :class:`TrainResult` of the other ranks).
    """
    config = replace(config or TrainConfig(), **overrides) if overrides else (config or TrainConfig())
    config.check()
    require_train_extra(*(("peft",) if config.lora else ()) + (("gguf",) if config.base == "smollm2" else ()))
    if config.base == "smollm2":
        from ._model import smollm2_dir

        smollm2_dir()  # a missing base is one clear line before any work
    proto = _load_protocol(protocol)
    problems = proto.validate()
    if problems:
        raise MTPValidationError(problems)
    encoder = brought = None
    if config.encoder is not None:  # a folder transformers cannot load is one clear line before any work
        from ..infer import SentenceEncoder

        brought = SentenceEncoder(Path(config.encoder), fix="give --encoder a sentence-transformers folder that "
                                  "transformers loads offline, or leave it out for the shipped encoder")
    if config.refuses_by_similarity and proto.guardrail_map() or config.decides_by_intent and brought is None:
        from ..infer import SentenceEncoder

        encoder = SentenceEncoder.load()  # a missing encoder is one clear line before any work
    dist_info = init_distributed(config.device)
    import torch

    threads = torch.get_num_threads()
    if dist_info.device == "cpu" and config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    try:
        return _Run(proto, Path(out_dir), config, dist_info, encoder, force, brought).run()
    finally:
        torch.set_num_threads(threads)
        dist_info.close()


def _load_protocol(source: ProtocolSource) -> "Protocol":
    from ..authoring import Protocol

    if isinstance(source, Protocol):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise MTPValueError(f"train() needs an mtp.Protocol or the path of a model file, got {type(source).__name__}.")
    loader = getattr(Protocol, "load", None)
    if loader is None:
        raise MTPValueError("this version cannot read model files yet; pass an mtp.Protocol object to train().")
    return loader(source)


def _check_out_dir(out: Path, force: bool) -> None:
    """Refuse to mix a run into a folder of other files (it must be new, empty or an earlier run's output), and
    to replace a trained model or a ``checkpoints/`` folder that is not an interrupted run's without ``force``."""
    if not out.exists():
        return
    if not out.is_dir():
        raise MTPFileError("--out must be a directory.", path=str(out))
    entries = {p.name for p in out.iterdir() if not p.name.startswith(STAGING_PREFIX)}
    if entries - {CHECKPOINTS} and MANIFEST not in entries:
        raise MTPFileError(
            "the output directory holds files that `mtp train` did not write; choose a new or empty directory.",
            path=str(out),
        )
    if force:
        return
    if MANIFEST in entries:
        raise MTPFileError("the output directory holds a trained model; pass --force (force=True) to replace it, "
                           "or choose another --out.", path=str(out))
    if CHECKPOINTS in entries and not _interrupted_run(out / CHECKPOINTS):
        raise MTPFileError(f"the output directory holds a {CHECKPOINTS}/ folder that is not an interrupted run's; "
                           "pass --force (force=True) to replace it, or choose another --out.", path=str(out))


def _interrupted_run(folder: Path) -> bool:
    """Whether ``folder`` holds only what an interrupted run leaves: ``last/`` with its state, and staging folders."""
    if not folder.is_dir() or folder.is_symlink() or not has_checkpoint(folder / "last"):
        return False
    return all(p.name == "last" or p.name.startswith(".last.") for p in folder.iterdir())


def _clear_previous(out: Path) -> None:
    """Remove an earlier run's files (those its manifest lists, and the manifest) before writing new ones."""
    import json

    manifest = out / MANIFEST
    if not manifest.is_file():
        return
    try:
        listed = [e["path"] for e in json.loads(manifest.read_text(encoding="utf-8")).get("files", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        listed = []
    from ..infer import ENCODER_FOLDER, INTENT_DIR

    heads = (out / INTENT_DIR).resolve()
    for rel in listed:
        target = (out / rel).resolve()
        if target.parent in (out.resolve(), heads, heads / ENCODER_FOLDER) and target.is_file():
            target.unlink()
    for folder in (heads / ENCODER_FOLDER, heads):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
    manifest.unlink()


#: Off a terminal, a progress line at least this often (seconds), whatever the steps.
PROGRESS_SECONDS = 30.0
#: With ``checkpoint_every=0`` a single process checkpoints at a validation only this long after the previous
#: checkpoint (or the start): a full SmolLM2 checkpoint is about 2 GB, and at every epoch of a small protocol it
#: took a tenth of a 40-step run, while a run killed within a minute loses at most a minute.
CHECKPOINT_SECONDS = 60.0


def _lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warmup, then cosine decay to a tenth of the base rate."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


class _Run:
    """One training run; the methods are its phases, in order."""

    def __init__(self, protocol: "Protocol", out: Path, config: TrainConfig, dist_info: Dist,
                 encoder: "SentenceEncoder | None" = None, force: bool = False,
                 brought: "SentenceEncoder | None" = None) -> None:
        self.protocol, self.out, self.config, self.dist = protocol, out, config, dist_info
        #: the shipped encoder (similarity refusal, intent head) and the one ``config.encoder`` names, if any
        self.encoder, self.force, self.brought = encoder, force, brought
        self.ckpt_dir = out / CHECKPOINTS / "last"

    # --- setup -------------------------------------------------------------
    def run(self) -> TrainResult:
        from ..extras import quiet_transformers

        with quiet_transformers(errors_only=True):  # the run's own progress lines only; restored after it
            return self._run()

    def _run(self) -> TrainResult:
        import torch

        cfg = self.config
        torch.manual_seed(cfg.seed)  # weight init and dropout; the data order uses its own random.Random(seed)
        if cfg.resume and not has_checkpoint(self.ckpt_dir):
            raise TrainConfigError(
                f"resume: there is no checkpoint in {self.ckpt_dir} to continue from (a finished run removes its "
                "checkpoints unless keep_checkpoints is set); train without resume to start anew."
            )
        if self.dist.main:
            _check_out_dir(self.out, self.force)
            self.out.mkdir(parents=True, exist_ok=True)
        self.dist.barrier()
        self.resuming = cfg.resume
        self.data = build_training_data(self.protocol, cfg.validation_share, cfg.seed, cfg.guardrails, cfg.train_context)
        self.structural = structural_strings(self.protocol)
        self.tokenizer, model, new_ids = self._tokenizer_and_model()
        set_special_ids(model, self.tokenizer)
        self.vocab_size = len(self.tokenizer)
        if cfg.lora:
            model = apply_lora(model, cfg, new_ids)
        max_length = cfg.max_length if cfg.base == "scratch" else getattr(model.config, "max_position_embeddings", cfg.max_length)
        self.train_items = encode_all(self.tokenizer, self.data.train, self.data.lm_text, max_length)
        self.val_items = encode_all(self.tokenizer, self.data.val, [], max_length)
        model.to(self.dist.device)
        self.model = model
        return self._loop()

    def _tokenizer_and_model(self) -> tuple[Any, "torch.nn.Module", list[int]]:
        from tokenizers import Tokenizer
        from transformers import AutoTokenizer

        cfg = self.config
        if cfg.base != "scratch":
            model, tokenizer = load_base(cfg.base, cfg.kept_layers)
            spelled = {s: encode_text(tokenizer, s) for s in self.structural}
            before = len(tokenizer)
            extend_tokenizer(tokenizer, self.structural)
            new_ids = list(range(before, len(tokenizer)))
            add_token_rows(model, len(tokenizer), {i: spelled.get(tokenizer.convert_ids_to_tokens(i), []) for i in new_ids})
            return tokenizer, model, new_ids
        if self.resuming:
            tokenizer = AutoTokenizer.from_pretrained(self.ckpt_dir / "tokenizer", local_files_only=True,
                                                      trust_remote_code=False)
        else:
            text = None
            if self.dist.main:
                built = scratch_tokenizer(self.data.all_text(), self.structural, cfg.vocab_size)
                text = built.backend_tokenizer.to_str()
            tokenizer = wrap_tokenizer(Tokenizer.from_str(broadcast_text(text, self.dist)))
        return tokenizer, scratch_model(cfg, len(tokenizer)), []

    # --- training ----------------------------------------------------------
    def _loop(self) -> TrainResult:
        import torch

        from ._loss import CompletionLoss  # imports torch

        cfg, dist_info = self.config, self.dist
        world, rank = dist_info.world, dist_info.rank
        n = len(self.train_items)
        batch_size = min(cfg.batch_size, max(1, -(-n // world)))
        per_epoch = steps_per_epoch(n, batch_size, world)
        total = cfg.total_steps(per_epoch, decided=self._decided())
        eval_every = cfg.eval_every or per_epoch
        ckpt_every = cfg.checkpoint_every or eval_every
        base_lr = cfg.learning_rate
        pad_id = self.tokenizer.pad_token_id

        model = CompletionLoss(self.model)
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            on_gpu = dist_info.device.startswith("cuda")
            model = DistributedDataParallel(model, device_ids=[int(dist_info.device.split(":")[1])] if on_gpu else None)
        raw = self.model
        params = [p for p in raw.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        # fused: one kernel over all tensors, about 4x faster than the per-tensor loop on a CPU (where PyTorch does
        # not choose it by itself), a tenth of a SmolLM2 step
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=base_lr, betas=(0.9, 0.95), fused=_fused_adamw(params),
        )
        use_bf16 = self.bf16
        device_type = "cuda" if dist_info.device.startswith("cuda") else "cpu"
        autocast = (lambda: torch.autocast(device_type, dtype=torch.bfloat16)) if use_bf16 else nullcontext

        start, best_val, bad_evals = 0, math.inf, 0
        history: list[dict[str, Any]] = []
        train_losses: list[tuple[int, float]] = []
        best_state: dict[str, torch.Tensor] | None = None
        if self.resuming:
            state, best_state = load_checkpoint(self.ckpt_dir, raw, optimizer, dist_info.device)
            start, best_val, bad_evals = state["step"], state["best_val"], state["bad_evals"]
            history = state["history"]
            train_losses = [tuple(x) for x in state["train_losses"]]  # type: ignore[misc]
            if best_val is None:
                best_val = math.inf

        stopped_early = False
        began = time.perf_counter()
        last_checkpoint = began
        progress = _Progress(total, start, enabled=cfg.progress and dist_info.main)
        with progress:
            step = start
            for step in range(start, total):
                model.train()
                lr = _lr_at(step, total, base_lr, cfg.warmup_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                idx = step_batch(n, batch_size, world, rank, cfg.seed, step)
                batch = {k: v.to(dist_info.device) for k, v in collate([self.train_items[i] for i in idx], pad_id).items()}
                with autocast():
                    loss = model(**batch)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                train_losses.append((step + 1, self._mean_across_ranks(loss.detach().float())))
                if not math.isfinite(train_losses[-1][1]):  # stop now, not after the whole run
                    raise TrainConfigError(f"the training loss became {train_losses[-1][1]} at step {step + 1}: the "
                                           f"learning rate ({base_lr:g}) is too high for this model; lower --lr.")
                progress.advance(train_losses[-1][1])

                last = step + 1 == total
                if self.val_items and ((step + 1) % eval_every == 0 or last):
                    val = self._validate(model, autocast, pad_id, batch_size)
                    history.append({"step": step + 1, "epoch": (step + 1) / per_epoch,
                                    "train_loss": train_losses[-1][1], "val_loss": val, "lr": lr})
                    progress.val(val)
                    if val < best_val - cfg.min_delta:
                        best_val, bad_evals = val, 0
                        best_state = trainable_state(raw)
                    else:
                        bad_evals += 1
                        stopped_early = cfg.early_stop_patience > 0 and bad_evals >= cfg.early_stop_patience
                due = (step + 1) % ckpt_every == 0 and not last and (
                    cfg.checkpoint_every or world > 1 or time.perf_counter() - last_checkpoint >= CHECKPOINT_SECONDS)
                if due or stopped_early:
                    last_checkpoint = time.perf_counter()
                    if dist_info.main:
                        save_checkpoint(self.ckpt_dir, raw, best_state, optimizer, self.tokenizer, {
                            "step": step + 1, "best_val": None if math.isinf(best_val) else best_val,
                            "bad_evals": bad_evals, "history": history, "train_losses": train_losses,
                            "settings": cfg.to_dict(),
                        })
                    dist_info.barrier()
                if stopped_early:
                    break
            steps_done = step + 1 if total > start else start
        seconds = time.perf_counter() - began

        if best_state is not None:
            load_trainable(raw, best_state)
        metrics = {
            "steps": steps_done,
            "epochs": round(steps_done / per_epoch, 3),
            "stopped_early": stopped_early,
            "best_val_loss": None if math.isinf(best_val) else best_val,
            "first_train_loss": train_losses[0][1] if train_losses else None,
            "final_train_loss": train_losses[-1][1] if train_losses else None,
            "train_examples": len(self.data.train),
            "val_examples": len(self.data.val),
            "context_texts": len(self.data.lm_text),
            "seconds": round(seconds, 3),
            "world_size": world,
        }
        return self._finish(metrics, history, train_losses, batch_size, base_lr)

    def _mean_across_ranks(self, value: "torch.Tensor") -> float:
        if self.dist.world > 1:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value)
            value /= self.dist.world
        return float(value.item())

    def _validate(self, model: "torch.nn.Module", autocast: Any, pad_id: int, batch_size: int) -> float:
        """Token-weighted mean loss over the validation examples, summed across ranks."""
        import torch

        model.eval()
        mine = [self.val_items[i] for i in shards(len(self.val_items), self.dist.world, self.dist.rank)]
        total = torch.zeros(2, dtype=torch.float64, device=self.dist.device)
        with torch.no_grad():
            for i in range(0, len(mine), batch_size):
                batch = {k: v.to(self.dist.device) for k, v in collate(mine[i:i + batch_size], pad_id).items()}
                with autocast():
                    loss = model(**batch, reduction="sum")
                total[0] += loss.double()
                total[1] += (batch["labels"][:, 1:] != -100).sum()
        if self.dist.world > 1:
            import torch.distributed as dist

            dist.all_reduce(total)
        return float(total[0] / total[1].clamp(min=1))

    # --- output ------------------------------------------------------------
    def _finish(
        self, metrics: dict[str, Any], history: list[dict[str, Any]], train_losses: list[tuple[int, float]],
        batch_size: int, lr: float,
    ) -> TrainResult:
        import torch

        from ._check import check_answers, spread

        cfg = self.config
        model = self.model
        metrics["trainable_parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if cfg.lora:
            model = model.merge_and_unload()
        metrics["parameters"] = sum(p.numel() for p in model.parameters())
        manifest: dict[str, Any] = {}
        refusal: dict[str, Any] = {}
        if self.dist.main:
            model.eval()
            similarity = self._similarity()
            intent = self._intent(metrics)
            if cfg.check_examples:
                answering = self._answering(model, similarity, intent)
                metrics["check_train"] = check_answers(answering, spread(self.data.train, cfg.check_examples))
                metrics["check_val"] = check_answers(answering, spread(self.data.val, cfg.check_examples))
                refusal = self._refusal_threshold(metrics["check_val"]["confidences"])
            if similarity is not None:
                refusal["similarity"] = similarity
                metrics["similarity_thresholds"] = similarity["thresholds"]
            settled = Refusal.from_section(refusal)  # what calibration chose: the manifest and runtime spec carry it
            metrics["refusal_threshold"] = settled.threshold
            settings = {
                **cfg.to_dict(), "val_split": cfg.validation_share, "learning_rate": lr, "batch_size_per_rank": batch_size,
                "device": self.dist.device, "bf16": self.bf16,
                "cpu_threads": torch.get_num_threads() if self.dist.device == "cpu" else None,
                "tokenizer_vocab_size": self.vocab_size,
            }

            def fill(folder: Path) -> dict[str, Any]:
                model.save_pretrained(folder)
                self.tokenizer.save_pretrained(folder)
                write_protocol_files(folder, self.protocol, settled.to_section(),
                                     intent.section if intent is not None else None)
                write_atomic(folder / CONFIG_FILE, dump_config(cfg))
                if intent is not None:
                    intent.write(folder)
                val_points = [(h["step"], h["val_loss"]) for h in history]
                save_loss_curve(folder / LOSS_CURVE, train_losses, val_points, f"{self.protocol.name} ({cfg.base})")
                extra = {"history": history, "structural_tokens": self.structural, "refusal": settled.to_section()}
                if intent is not None:
                    extra["intent"] = intent.section
                return write_manifest(folder, self.protocol, settings, metrics, extra)

            # Written whole or not at all: a full disk leaves the directory as it was.
            manifest = write_staged(self.out, fill, lambda: _clear_previous(self.out))
            verify_dir(self.out)
            if not cfg.keep_checkpoints:
                shutil.rmtree(self.out / CHECKPOINTS, ignore_errors=True)
        self.dist.barrier()
        return TrainResult(out_dir=self.out, manifest=manifest, metrics=metrics, history=history)


    def _similarity(self) -> dict[str, Any] | None:
        """The similarity thresholds of the guarded lines (:func:`calibrate_similarity`), None when off."""
        if self.encoder is None or not (self.config.refuses_by_similarity and self.protocol.guardrail_map()):
            return None
        if self._decided():  # the head refuses in its own, fine-tuned space (infer/_intent.py)
            return None
        from ._refusal import calibrate_similarity

        return calibrate_similarity(self.protocol, self.encoder)

    @cached_property
    def bf16(self) -> bool:
        """Whether the forward pass runs under bf16 autocast: ``precision``, or for auto a pretrained base on a
        device with bf16 units (the scratch model's small matrices gain nothing from them). Asked once: the loop
        and the manifest read the same answer."""
        from ._environment import has_bf16

        precision = self.config.precision
        return precision == "bf16" or (precision == "auto" and self.config.base != "scratch"
                                       and has_bf16(self.dist.device))

    def _decided(self) -> bool:
        """Whether the intent head will decide every instruction's final: the language model then only learns to
        write the answers, which takes the recipe's shorter schedule."""
        if not self.config.decides_by_intent:
            return False
        from ..rules import head_sources

        return len(head_sources(self.protocol)) == len(self.protocol.instructions)

    def _intent(self, metrics: dict[str, Any]) -> Any:
        """The intent head fitted on a fresh copy of the sentence encoder (None when off or no instruction has one)."""
        if not self.config.decides_by_intent:
            return None
        from ..infer import SentenceEncoder
        from ._intent import IntentRecipe, fit_intent

        started = time.perf_counter()
        brought = None if self.brought is None else Path(str(self.config.encoder)).resolve().name
        fitted = fit_intent(self.protocol, self.brought or SentenceEncoder.load(),
                            IntentRecipe(steps=self.config.intent_steps), seed=self.config.seed, brought=brought)
        if fitted is not None:
            metrics["intent"] = {"seconds": round(time.perf_counter() - started, 3),
                                 "classes": {h["instruction"]: h["classes"] for h in fitted.section["heads"]}}
        return fitted

    def _answering(self, model: "torch.nn.Module", similarity: dict[str, Any] | None, intent: Any = None) -> Any:
        """The trained weights behind the inference engine, in memory: the check answers as ``mtp run`` does."""
        from ..rules import compile_runtime
        from ..infer import Model, PromptSimilarity
        from ..runtime import Refusal

        runtime = compile_runtime(self.protocol.template_json(), self.protocol)
        near = None
        if similarity is not None and self.encoder is not None:
            thresholds = Refusal.from_section({"similarity": similarity}).similarity
            near = PromptSimilarity(self.encoder, runtime, thresholds)
        heads = intent.heads(self.protocol) if intent is not None else None
        return Model(model, self.tokenizer, runtime, self.protocol, similarity=near, intent=heads)

    def _refusal_threshold(self, confidences: list[float]) -> dict[str, Any]:
        """The confidence threshold below which a guarded instruction refuses, chosen on the validation answers.

        Only a protocol with a guardrail can refuse; a quantile of fewer than
        :data:`MIN_CALIBRATION_PROMPTS` validation answers is noise, and the threshold then stays off.
        """
        from ..runtime import choose_threshold

        cfg = self.config
        reason = ("turned off (max_false_refusals is 0)" if cfg.max_false_refusals <= 0
                  else "no guardrail" if not self.protocol.guardrail_map()
                  else f"only {len(confidences)} validation prompts; at least {MIN_CALIBRATION_PROMPTS} are needed"
                  if len(confidences) < MIN_CALIBRATION_PROMPTS else "")
        if reason:
            return {"threshold": None, "reason": reason}
        return {
            "threshold": choose_threshold(confidences, cfg.max_false_refusals, cfg.threshold_cap),
            "signal": "probability of the answer (product of its chosen tokens)",
            "chosen_on": f"{len(confidences)} validation prompts",
            "max_false_refusals": cfg.max_false_refusals,
            "cap": cfg.threshold_cap,
        }


class _Progress:
    """The running loss on stderr: a rich progress bar on a terminal; elsewhere (a CI log, ``nohup``, a pipe) a
    plain line at the first step, every tenth of the run or :data:`PROGRESS_SECONDS`, and the last step. A no-op
    when disabled, e.g. on ranks other than 0."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        import sys

        self.enabled = enabled
        self.total, self.step, self.loss, self.val_loss = total, start, "-", "-"
        self.began = self.last_line = time.perf_counter()
        self.every = max(1, total // 10)
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("val {task.fields[val]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
            )
            self.task = self.bar.add_task("train", total=total, completed=start, loss="-", val="-")

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def advance(self, loss: float) -> None:
        self.step, self.loss = self.step + 1, f"{loss:.4f}"
        if self.bar is not None:
            self.bar.update(self.task, advance=1, loss=self.loss)
        elif self.enabled:
            now = time.perf_counter()
            if self.step == 1 or self.step % self.every == 0 or self.step == self.total \
                    or now - self.last_line >= PROGRESS_SECONDS:
                self._line(now)

    def val(self, loss: float) -> None:
        self.val_loss = f"{loss:.4f}"
        if self.bar is not None:
            self.bar.update(self.task, val=self.val_loss)

    def _line(self, now: float) -> None:
        import sys

        self.last_line = now
        print(f"training step {self.step}/{self.total}  loss {self.loss}  val {self.val_loss}  "
              f"elapsed {now - self.began:.0f} s", file=sys.stderr, flush=True)


def _fused_adamw(params: list[Any]) -> bool:
    """Whether PyTorch has a fused AdamW for these parameters' device and type (CPU and CUDA floats do)."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
