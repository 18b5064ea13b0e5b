"""Course model builders; importing this package registers them all."""
from modules.models import cifar, gan, mnist, sequences, tabular, transfer  # noqa: F401  (registers on import)
