"""The category head's attention pooling: the plain mean when its weights are zero (so checkpoints from
before it load unchanged), each token weighed by its own score otherwise, and blind to padding and to the
context segment; recover reads it back from the shipped graph. What it buys on real text is measured by
training.realtext.report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")
pytest.importorskip("transformers", reason="the train extra (transformers) is not installed")
import torch  # noqa: E402

from training.train import GuardModel, build_model, load_weights  # noqa: E402

pytestmark = pytest.mark.train

SEP, PAD = 2, 1


def tiny(seed: int = 0) -> GuardModel:
    torch.manual_seed(seed)
    return build_model("tiny:200", 2, SEP).eval()


def test_zero_attention_is_the_mean_of_the_judged_segment() -> None:
    model = tiny()
    ids = torch.tensor([[0, 11, 12, 13, 14, SEP, SEP, 50, 51, SEP]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        logits, _ = model(ids, mask)
        states = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        want = model.category(states[:, :5].mean(1))  # <s> and the text, up to the first </s>
    assert torch.allclose(logits, want, atol=1e-5)


def test_padding_and_the_context_segment_get_no_weight() -> None:
    model = tiny()
    torch.nn.init.normal_(model.attend.weight, std=2.0)  # sharp, unequal attention
    short = torch.tensor([[0, 11, 12, SEP, SEP, 50, SEP]])
    padded = torch.cat([short, torch.full((1, 4), PAD)], dim=1)
    with torch.no_grad():
        alone, _ = model(short, torch.ones_like(short))
        batch, _ = model(torch.cat([padded, torch.tensor([[0, 11, 12, 13, 14, 15, 16, 17, 18, 19, SEP]])]),
                         torch.cat([(padded != PAD).long(), torch.ones(1, 11, dtype=torch.long)]))
        states = model.encoder(input_ids=short, attention_mask=torch.ones_like(short)).last_hidden_state
        scores = model.attend(states)[:, :3]  # the judged segment only
        want = (torch.softmax(scores, dim=1) * model.category(states[:, :3])).sum(1)
    assert torch.allclose(alone, batch[:1], atol=1e-5)
    assert torch.allclose(alone, want, atol=1e-5)


def test_a_checkpoint_from_before_attention_loads_as_the_mean(tmp_path: Path) -> None:
    old = {k: v for k, v in tiny(seed=3).state_dict().items() if not k.startswith("attend.")}
    torch.save(old, tmp_path / "model.pt")
    model = tiny(seed=4)
    load_weights(model, tmp_path)
    assert torch.equal(model.category.weight, old["category.weight"])
    assert not model.attend.weight.any()
    torch.save({**old, "stray.weight": torch.zeros(1)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(model, tmp_path)


def test_recover_reads_every_trained_weight_of_the_shipped_graph() -> None:
    import onnx

    from training.recover import graph_weights

    shipped = Path(__file__).resolve().parents[2] / "models" / "kguard-ko-small" / "model.onnx"
    found = graph_weights(onnx.load(str(shipped)))

    def by_kind(names: set[str]) -> set[str]:  # the tiny model has 2 layers, the shipped one 6
        return {re.sub(r"layer\.\d+\.", "layer.N.", k) for k in names}

    trained = {k for k in tiny().state_dict() if not k.startswith("encoder.embeddings.")}
    assert by_kind(trained) == by_kind(set(found))
    assert found["attend.weight"].shape == found["category.weight"].shape == (14, 384)
