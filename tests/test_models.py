import pytest
import torch

from rshw.models import create_model, list_models, model_defaults
from rshw.models.blocks import ConvBN
from rshw.training.realspike import GRANULARITIES

# small inputs keep every model fast; the ImageNet ResNets and VGG16 accept 32×32
SMALL = {"resnet18": {"input_size": 32}, "resnet34": {"input_size": 32}}


def _resnet19_parameter_count(num_classes: int = 10) -> int:
    """Counted by hand from the architecture, independently of the code."""
    conv = lambda cin, cout, k: cin * cout * k * k  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    total = conv(3, 128, 3) + bn(128)
    cin = 128
    for cout, blocks, stride in ((128, 3, 1), (256, 3, 2), (512, 2, 2)):
        for b in range(blocks):
            c_in = cin if b == 0 else cout
            total += conv(c_in, cout, 3) + bn(cout) + conv(cout, cout, 3) + bn(cout)
            if b == 0 and (stride != 1 or c_in != cout):
                total += conv(c_in, cout, 1) + bn(cout)
        cin = cout
    return total + 512 * 256 + 256 + 256 * num_classes + num_classes


def test_registry_lists_the_zoo_and_rejects_unknown_names():
    assert list_models() == ["resnet18", "resnet19", "resnet20", "resnet34", "scnn", "vgg16"]
    with pytest.raises(ValueError, match="known models: resnet18, resnet19"):
        create_model("resnet50")
    with pytest.raises(ValueError, match="it accepts realspike, timesteps"):
        create_model("resnet19", width=2)
    with pytest.raises(ValueError, match="choose one of"):
        create_model("scnn", realspike="pixel")
    assert model_defaults("resnet18")["num_classes"] == 1000


@pytest.mark.parametrize("name", ["resnet18", "resnet19", "resnet20", "resnet34", "scnn", "vgg16"])
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_every_model_and_granularity_gives_logits(name, granularity):
    model = create_model(
        name, realspike=granularity, timesteps=2, num_classes=7, **SMALL.get(name, {})
    )
    model.eval()
    x = torch.randn(2, model.in_channels, *model.input_hw)
    with torch.no_grad():
        assert model(x).shape == (2, 7)
    assert model.config["name"] == name and model.config["realspike"] == granularity


def test_resnet19_parameter_count_is_about_12_7_million():
    count = sum(p.numel() for p in create_model("resnet19").parameters())
    assert count == _resnet19_parameter_count()
    assert 12.6e6 < count < 12.8e6
    element = sum(p.numel() for p in create_model("resnet19", realspike="element").parameters())
    # element-wise adds one a per neuron of every spiking layer
    neurons = 128 * 32 * 32 * (1 + 6) + 256 * 16 * 16 * 6 + 512 * 8 * 8 * 4 + 256
    assert element - count == neurons


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_resnet19_forward_backward_b2_t4(granularity):
    model = create_model("resnet19", realspike=granularity, timesteps=4)
    x = torch.randn(2, 3, 32, 32)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([1, 2]))
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.encoder.conv.weight.grad.abs().sum() > 0


def test_event_input_and_static_encoding_agree():
    model = create_model("scnn", in_channels=2, input_size=34, realspike="element", timesteps=3)
    model.eval()
    image = torch.randn(4, 2, 34, 34)
    with torch.no_grad():
        static = model(image)
        events = model(image.unsqueeze(0).expand(3, -1, -1, -1, -1))
    torch.testing.assert_close(static, events, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"expects \[B, 2, 34, 34\]"):
        model(torch.randn(4, 1, 28, 28))


def test_batchnorm_is_pooled_over_time_and_batch():
    layer = ConvBN(3, 8, 3, 1, 1).train()
    x = torch.randn(4, 5, 3, 6, 6) + torch.arange(4.0).view(4, 1, 1, 1, 1)  # differs per step
    y = layer(x)
    per_channel = y.transpose(0, 2).reshape(8, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(per_channel.var(1, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    per_step = y.mean(dim=(1, 3, 4))  # [T, C]
    assert (per_step[3] - per_step[0]).abs().min() > 0.1  # steps are not normalised one by one


def test_static_encoder_equals_repeated_input_in_training_mode():
    torch.manual_seed(0)
    layer = ConvBN(3, 4, 3, 1, 1).train()
    x = torch.randn(5, 3, 8, 8)
    torch.testing.assert_close(
        layer.forward_static(x, 3), layer(x.unsqueeze(0).expand(3, -1, -1, -1, -1))
    )
