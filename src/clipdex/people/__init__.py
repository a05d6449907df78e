"""The tenant's people gallery: face tracks from videos, clustered and matched to named people; the
embedding gallery itself (``gallery.py``) also serves named voices."""
