"""Operating a deployment: ``clipdex doctor`` (checks that say what is wrong and how to fix it)."""
