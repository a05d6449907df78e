"""The video library: filters, metadata rules, deletion of everything derived."""
