"""Course model builders; importing this package registers them all."""
from modules.models import cifar, mnist, sequences, tabular  # noqa: F401  (registers on import)
