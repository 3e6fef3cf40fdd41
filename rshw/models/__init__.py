"""The model zoo: ``create_model(name, **kw)``, ``list_models()``. One file per architecture."""

from rshw.models import imagenet_resnet, resnet19, resnet20, scnn, vgg16  # noqa: F401  (register)
from rshw.models.registry import COMMON_DEFAULTS, create_model, list_models, model_defaults

__all__ = ["COMMON_DEFAULTS", "create_model", "list_models", "model_defaults"]
