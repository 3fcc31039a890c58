from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_ALLOW: _ClassVar[Action]
    ACTION_FLAG: _ClassVar[Action]
    ACTION_MASK: _ClassVar[Action]
    ACTION_BLOCK: _ClassVar[Action]
ACTION_UNSPECIFIED: Action
ACTION_ALLOW: Action
ACTION_FLAG: Action
ACTION_MASK: Action
ACTION_BLOCK: Action

class Message(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class PolicyOverrides(_message.Message):
    __slots__ = ("categories_on", "categories_off", "thresholds", "actions", "return_masked", "return_spans")
    class ThresholdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ActionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CATEGORIES_ON_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_OFF_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    RETURN_MASKED_FIELD_NUMBER: _ClassVar[int]
    RETURN_SPANS_FIELD_NUMBER: _ClassVar[int]
    categories_on: _containers.RepeatedScalarFieldContainer[str]
    categories_off: _containers.RepeatedScalarFieldContainer[str]
    thresholds: _containers.ScalarMap[str, float]
    actions: _containers.ScalarMap[str, str]
    return_masked: bool
    return_spans: bool
    def __init__(self, categories_on: _Optional[_Iterable[str]] = ..., categories_off: _Optional[_Iterable[str]] = ..., thresholds: _Optional[_Mapping[str, float]] = ..., actions: _Optional[_Mapping[str, str]] = ..., return_masked: _Optional[bool] = ..., return_spans: _Optional[bool] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end", "type", "category", "score", "source")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    type: str
    category: str
    score: float
    source: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., type: _Optional[str] = ..., category: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("safe", "categories", "scores", "spans", "action", "masked", "role")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SAFE_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    MASKED_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    safe: bool
    categories: _containers.RepeatedScalarFieldContainer[str]
    scores: _containers.ScalarMap[str, float]
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    action: Action
    masked: str
    role: str
    def __init__(self, safe: _Optional[bool] = ..., categories: _Optional[_Iterable[str]] = ..., scores: _Optional[_Mapping[str, float]] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., action: _Optional[_Union[Action, str]] = ..., masked: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("text", "messages", "role", "context", "overrides")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    text: str
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    role: str
    context: str
    overrides: PolicyOverrides
    def __init__(self, text: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., role: _Optional[str] = ..., context: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("verdict",)
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    verdict: Verdict
    def __init__(self, verdict: _Optional[_Union[Verdict, _Mapping]] = ...) -> None: ...

class CheckBatchRequest(_message.Message):
    __slots__ = ("texts", "role", "overrides")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    role: str
    overrides: PolicyOverrides
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., role: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("verdict", "error")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    verdict: Verdict
    error: ItemError
    def __init__(self, verdict: _Optional[_Union[Verdict, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class CheckBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class StreamConfig(_message.Message):
    __slots__ = ("role", "context", "overrides")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    role: str
    context: str
    overrides: PolicyOverrides
    def __init__(self, role: _Optional[str] = ..., context: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("config", "chunk")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    config: StreamConfig
    chunk: str
    def __init__(self, config: _Optional[_Union[StreamConfig, _Mapping]] = ..., chunk: _Optional[str] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("text", "start", "spans", "held", "blocked", "verdict")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    text: str
    start: int
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    held: int
    blocked: bool
    verdict: Verdict
    def __init__(self, text: _Optional[str] = ..., start: _Optional[int] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., held: _Optional[int] = ..., blocked: _Optional[bool] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CategoryInfo(_message.Message):
    __slots__ = ("code", "id", "name_ko", "name_en", "pipa_basis", "description")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_KO_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    PIPA_BASIS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    id: str
    name_ko: str
    name_en: str
    pipa_basis: str
    description: str
    def __init__(self, code: _Optional[str] = ..., id: _Optional[str] = ..., name_ko: _Optional[str] = ..., name_en: _Optional[str] = ..., pipa_basis: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[CategoryInfo]
    def __init__(self, categories: _Optional[_Iterable[_Union[CategoryInfo, _Mapping]]] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "sha256", "quant", "provider", "max_length", "categories", "thresholds", "files")
    class ThresholdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class FilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    QUANT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sha256: str
    quant: str
    provider: str
    max_length: int
    categories: _containers.RepeatedScalarFieldContainer[str]
    thresholds: _containers.ScalarMap[str, float]
    files: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., quant: _Optional[str] = ..., provider: _Optional[str] = ..., max_length: _Optional[int] = ..., categories: _Optional[_Iterable[str]] = ..., thresholds: _Optional[_Mapping[str, float]] = ..., files: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PseudonymizeRequest(_message.Message):
    __slots__ = ("text", "session_id", "role", "context", "overrides")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    text: str
    session_id: str
    role: str
    context: str
    overrides: PolicyOverrides
    def __init__(self, text: _Optional[str] = ..., session_id: _Optional[str] = ..., role: _Optional[str] = ..., context: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class PseudonymizeResponse(_message.Message):
    __slots__ = ("text", "session_id", "verdict", "replaced", "blocked", "ttl_seconds")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    session_id: str
    verdict: Verdict
    replaced: int
    blocked: bool
    ttl_seconds: float
    def __init__(self, text: _Optional[str] = ..., session_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ..., replaced: _Optional[int] = ..., blocked: _Optional[bool] = ..., ttl_seconds: _Optional[float] = ...) -> None: ...

class RestoreRequest(_message.Message):
    __slots__ = ("session_id", "text", "check", "context", "overrides")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    text: str
    check: bool
    context: str
    overrides: PolicyOverrides
    def __init__(self, session_id: _Optional[str] = ..., text: _Optional[str] = ..., check: _Optional[bool] = ..., context: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class RestoreResponse(_message.Message):
    __slots__ = ("text", "restored", "unknown", "verdict", "blocked")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    text: str
    restored: int
    unknown: int
    verdict: Verdict
    blocked: bool
    def __init__(self, text: _Optional[str] = ..., restored: _Optional[int] = ..., unknown: _Optional[int] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ..., blocked: _Optional[bool] = ...) -> None: ...

class RestoreStreamConfig(_message.Message):
    __slots__ = ("session_id", "check", "context", "overrides")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    check: bool
    context: str
    overrides: PolicyOverrides
    def __init__(self, session_id: _Optional[str] = ..., check: _Optional[bool] = ..., context: _Optional[str] = ..., overrides: _Optional[_Union[PolicyOverrides, _Mapping]] = ...) -> None: ...

class RestoreStreamRequest(_message.Message):
    __slots__ = ("config", "chunk")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    config: RestoreStreamConfig
    chunk: str
    def __init__(self, config: _Optional[_Union[RestoreStreamConfig, _Mapping]] = ..., chunk: _Optional[str] = ...) -> None: ...

class RestoreStreamResponse(_message.Message):
    __slots__ = ("text", "held", "blocked", "restored", "unknown", "verdict")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    text: str
    held: int
    blocked: bool
    restored: int
    unknown: int
    verdict: Verdict
    def __init__(self, text: _Optional[str] = ..., held: _Optional[int] = ..., blocked: _Optional[bool] = ..., restored: _Optional[int] = ..., unknown: _Optional[int] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ...) -> None: ...

class EndSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class EndSessionResponse(_message.Message):
    __slots__ = ("ended",)
    ENDED_FIELD_NUMBER: _ClassVar[int]
    ended: bool
    def __init__(self, ended: _Optional[bool] = ...) -> None: ...
