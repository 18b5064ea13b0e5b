"""Course model builders; importing this package registers them all."""
from modules.models import cifar, mnist, tabular  # noqa: F401  (registers on import)
