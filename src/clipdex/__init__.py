"""clipdex: self-hostable, multi-tenant video intelligence."""

__version__ = "0.1.0"
