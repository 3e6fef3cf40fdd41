import pytest
import torch

from rshw.models import create_model
from rshw.training.config import TrainConfig
from rshw.training.realspike import GRANULARITIES, RealSpike, realspike_parameters
from rshw.training.train import build_optimizer


@pytest.mark.parametrize(
    ("granularity", "shape", "a_shape"),
    [
        ("layer", (4, 5, 6), ()),
        ("channel", (4, 5, 6), (4,)),
        ("element", (4, 5, 6), (4, 5, 6)),
        ("channel", (7,), (7,)),
        ("element", (7,), (7,)),
    ],
)
def test_shapes_init_and_scaling(granularity, shape, a_shape):
    rs = RealSpike(granularity, shape)
    assert tuple(rs.a.shape) == a_shape
    assert torch.equal(rs.a, torch.ones(a_shape))
    with torch.no_grad():
        rs.a.copy_(torch.rand(a_shape) + 0.5)
    o = (torch.rand(3, 2, *shape) > 0.5).float()
    y = rs(o)
    a = rs.a if granularity != "channel" else rs.a.view(-1, *[1] * (len(shape) - 1))
    assert torch.equal(y, o * a)
    # the same a at every time step
    assert torch.equal(y[1][o[1] == 1], (o[1] * a)[o[1] == 1])


def test_gradient_of_a_sums_over_time_batch_and_positions():
    rs = RealSpike("channel", (2, 3, 3))
    o = (torch.rand(4, 5, 2, 3, 3) > 0.5).float()
    g = torch.randn_like(o)
    (rs(o) * g).sum().backward()
    assert torch.allclose(rs.a.grad, (o * g).sum(dim=(0, 1, 3, 4)))


def test_none_is_identity_without_parameters():
    rs = RealSpike("none", (3,))
    o = torch.rand(2, 2, 3)
    assert rs(o) is o
    assert list(rs.parameters()) == []


def test_bad_granularity_and_shape():
    with pytest.raises(ValueError, match="choose one of"):
        RealSpike("pixel", (3,))
    with pytest.raises(ValueError, match=r"expects \[T, B, 3, 4, 4\]"):
        RealSpike("element", (3, 4, 4))(torch.zeros(1, 1, 3, 5, 5))


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_optimizer_keeps_a_bn_and_biases_out_of_weight_decay(granularity):
    model = create_model("scnn", realspike=granularity)
    opt = build_optimizer(model, TrainConfig(weight_decay=1e-3))
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    bn = [p for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()]
    assert not decayed & {id(p) for p in realspike_parameters(model)}
    assert not decayed & {id(p) for p in bn}
    weights = [
        m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]
    assert {id(w) for w in weights} == decayed
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    assert len(realspike_parameters(model)) == (0 if granularity == "none" else 3)
