"""vidseg: segment and track objects in video on an ordinary CPU, offline."""

from vidseg.errors import InputError, OutputError, VidsegError

__version__ = "0.1.0"

__all__ = ["InputError", "OutputError", "VidsegError", "__version__"]
