"""onnxruntime session settings for int8 encoders on CPU, each kept because bench/tuning.py measured it.

OnnxEngine builds its session from EngineConfig; this module says how, beyond the thread counts:
    SkipLayerNormFusion off   onnxruntime fuses Add + LayerNormalization into SkipLayerNormalization at
                              load time; on AVX-512/AMX Xeons that fused kernel is slower than the two
                              ops it replaces in an int8 graph (measured +15-19% texts/s without it)
    intra-op spinning off     when the session shares 2 cores with an event loop (AsyncGuard, the gRPC
                              server), spinning worker threads steal the loop's time between runs
The option names are onnxruntime's (SessionOptions, session config keys, `disabled_optimizers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guard.config import EngineConfig
from guard.engine.runtime import ort

#: Graph transformers that slow int8 encoders down on x86 CPUs (see the module docstring); the default
#: of EngineConfig.disabled_optimizers.
SLOW_FUSIONS: tuple[str, ...] = EngineConfig().disabled_optimizers


@dataclass(frozen=True, kw_only=True)
class SessionTuning:
    """How one onnxruntime session is set up.

    Attributes:
        intra_op_num_threads: threads inside one run (0: onnxruntime picks all cores).
        inter_op_num_threads: threads across independent nodes (1: encoders are a chain).
        disabled_optimizers: graph transformers not to run at load, by onnxruntime's names.
        allow_spinning: whether idle intra-op threads spin waiting for work (lower latency when the
            cores are free, stolen time when they are shared).
    """

    intra_op_num_threads: int = 0
    inter_op_num_threads: int = 1
    disabled_optimizers: tuple[str, ...] = SLOW_FUSIONS
    allow_spinning: bool = True

    @classmethod
    def onnxruntime_defaults(cls, *, intra_op_num_threads: int = 0) -> SessionTuning:
        """onnxruntime as it comes: every fusion on (the reference the bench compares against)."""
        return cls(intra_op_num_threads=intra_op_num_threads, disabled_optimizers=())

    @classmethod
    def shared_cores(cls, *, intra_op_num_threads: int = 0) -> SessionTuning:
        """For a session beside an event loop on few cores: slow fusions off, no spinning."""
        return cls(intra_op_num_threads=intra_op_num_threads, allow_spinning=False)

    @classmethod
    def of(cls, config: EngineConfig) -> SessionTuning:
        """The tuning an engine configuration asks for (what OnnxEngine builds its session with)."""
        return cls(intra_op_num_threads=config.intra_op_num_threads,
                   inter_op_num_threads=config.inter_op_num_threads,
                   disabled_optimizers=config.disabled_optimizers, allow_spinning=config.allow_spinning)

    def engine_options(self) -> dict[str, Any]:
        """This tuning as EngineConfig fields: `OnnxEngine(EngineConfig(model_dir=..., **t.engine_options()))`."""
        return {"intra_op_num_threads": self.intra_op_num_threads,
                "inter_op_num_threads": self.inter_op_num_threads,
                "disabled_optimizers": self.disabled_optimizers, "allow_spinning": self.allow_spinning}

    def session_options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_num_threads
        options.inter_op_num_threads = self.inter_op_num_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self.allow_spinning else "0"
        )
        return options

    def session_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `ort.InferenceSession(path, providers=..., **kwargs)`."""
        return {"sess_options": self.session_options(), "disabled_optimizers": list(self.disabled_optimizers)}
