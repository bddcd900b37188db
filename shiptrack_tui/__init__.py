"""ShipTrack: a local-first uptime monitor that lives in the terminal."""

__version__ = "0.1.0"
__all__ = ["__version__"]
